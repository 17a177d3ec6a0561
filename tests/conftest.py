"""Shared fixtures: a tiny, learnable labelled dataset and recipes over it, and the offline data root."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
import yaml

from seqlab.cli.main import main

POSITIVE = ["good", "great", "fine", "lovely", "superb", "fun"]
NEGATIVE = ["bad", "awful", "dull", "boring", "poor", "weak"]
FILLER = ["the", "film", "was", "a", "plot", "and", "very", "story", "it", "actors"]


def make_examples(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        label = rng.choice(["pos", "neg"])
        words = rng.choices(FILLER, k=rng.randint(2, 12))
        words.insert(rng.randrange(len(words) + 1), rng.choice(POSITIVE if label == "pos" else NEGATIVE))
        out.append((" ".join(words), label))
    return out


def write_tsv(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("text\tlabel\n" + "".join(f"{t}\t{l}\n" for t, l in rows), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def fixed_threads(monkeypatch):
    """Tests compare runs bit for bit (resume equals uninterrupted): a thread count that the co-tenancy governor
    changed in one run and not the other would break that, so it is off here; tests/test_cotenancy.py turns it
    back on where it is the subject."""
    monkeypatch.setenv("SEQLAB_COTENANCY", "0")


@pytest.fixture
def tiny_data(tmp_path: Path) -> dict[str, Path]:
    return {
        "train": write_tsv(tmp_path / "train.tsv", make_examples(240, 1)),
        "dev": write_tsv(tmp_path / "dev.tsv", make_examples(60, 2)),
        "test": write_tsv(tmp_path / "test.tsv", make_examples(60, 3)),
    }


def recipe_dict(data: dict[str, Path], model: dict | None = None, **train) -> dict:
    return {
        "task": "classification",
        "data": {"train": str(data["train"]), "dev": str(data["dev"]), "test": str(data["test"]), "tokenizer": "whitespace"},
        "model": model or {"name": "rnn_classifier", "embed_dim": 16, "hidden_size": 16, "dropout": 0.2},
        "train": {"epochs": 3, "batch_size": 16, "lr": 0.01, "patience": None, "log_every": 5, **train},
    }


@pytest.fixture
def write_recipe(tmp_path: Path, tiny_data):
    def write(model: dict | None = None, name: str = "recipe.yaml", **train) -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(recipe_dict(tiny_data, model, **train)), encoding="utf-8")
        return path

    return write


@pytest.fixture
def shared_data() -> Path:
    """The offline dataset root (../shared/datasets via SEQLAB_DATA_DIR); skipped with a reason when absent."""
    root = os.environ.get("SEQLAB_DATA_DIR")
    if not root or not Path(root).is_dir():
        pytest.skip("SEQLAB_DATA_DIR is not set to the shared datasets folder (make test sets it to ../shared/datasets)")
    return Path(root)


def one_line_error(capsys, argv, *needles: str) -> str:
    """Run ``seqlab argv``; it must exit 2 with one line on stderr (no traceback) containing every needle."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith(("OpenMP waiting", " "))]
    assert code == 2, (code, err[-2000:])
    assert "Traceback" not in err, err[-2000:]
    errors = [line for line in lines if ": error: " in line]
    assert len(errors) == 1, err[-2000:]
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


@pytest.fixture
def expect_error(capsys):
    return lambda argv, *needles: one_line_error(capsys, argv, *needles)


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> dict[str, Path]:
    """Tiny trained run directories of every task (``trained_models``), trained once per session."""
    from trained_models import train_all

    return train_all(tmp_path_factory.mktemp("models"))
