"""A process killed at any instant of a model or checkpoint swap leaves something complete to load and resume
from. The kill is real: a child process whose ``os.replace`` calls ``os._exit`` at the chosen rename (no
``finally`` runs), so the leftovers are exactly those of a SIGKILL at that instant."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seqlab import artifact
from seqlab.tasks import load_recipe
from seqlab.training.run import train

SAVE_AND_DIE = """
import os, sys
from seqlab import artifact
from seqlab.models.registry import build
version, die_at = int(sys.argv[2]), int(sys.argv[3])
model, cfg = build({"name": "bow", "vocab_size": 10 + version, "num_classes": 2})
calls = {"n": 0}
real_replace = os.replace
def replace(a, b):
    calls["n"] += 1
    if calls["n"] == die_at:
        os._exit(137)
    return real_replace(a, b)
os.replace = replace
artifact.save(sys.argv[1], model, cfg, "classification", {"version": version})
"""


def save_in_child(path: Path, version: int, die_at: int = 0) -> int:
    return subprocess.run([sys.executable, "-c", SAVE_AND_DIE, str(path), str(version), str(die_at)]).returncode


@pytest.mark.parametrize("die_at, expected", [(1, 1), (2, 2), (0, 2)],
                         ids=["before the first rename", "between the renames", "not killed"])
def test_kill_inside_the_swap_leaves_a_loadable_artifact(tmp_path, die_at, expected):
    target = tmp_path / "model"
    assert save_in_child(target, 1) == 0
    code = save_in_child(target, 2, die_at)
    assert code == (137 if die_at else 0)
    loaded = artifact.load(target)
    assert loaded.recipe == {"version": expected}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # leftovers cleaned
    assert not (target / artifact.COMPLETE).exists()


def test_kill_while_writing_keeps_the_previous_copy(tmp_path):
    """Killed before the temporary copy was complete (no marker): the old artifact stays, the debris goes."""
    target = tmp_path / "model"
    assert save_in_child(target, 1) == 0
    debris = tmp_path / ".model.tmp-999999999-abcd"  # a dead process's half-written copy
    debris.mkdir()
    (debris / "config.json").write_text("{")
    assert artifact.load(target).recipe == {"version": 1}
    assert not debris.exists()


def test_leftovers_of_a_live_process_are_not_touched(tmp_path):
    target = tmp_path / "model"
    assert save_in_child(target, 1) == 0
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        writing = tmp_path / f".model.tmp-{live.pid}-abcd"
        writing.mkdir()
        artifact.recover(target)
        assert writing.exists()
    finally:
        live.kill()
        live.wait()


RESUME_AND_DIE = """
import os, sys
from seqlab.tasks import load_recipe
from seqlab.training.run import train
die_at = int(sys.argv[3])
calls = {"n": 0}
real_replace = os.replace
def replace(a, b):
    if ".checkpoint.tmp-" in str(a) or ".checkpoint.old-" in str(b):
        calls["n"] += 1
        if calls["n"] == die_at:
            os._exit(137)
    return real_replace(a, b)
os.replace = replace
train(load_recipe(sys.argv[1]), sys.argv[2], progress=False)
"""


@pytest.mark.parametrize("die_at", [2, 3, 4, 5])
def test_resume_after_a_kill_inside_a_checkpoint_swap_equals_the_uninterrupted_run(write_recipe, tmp_path, die_at):
    """Killed at the die_at-th rename of a checkpoint (the first save renames once, later ones twice: an odd
    die_at ≥ 3 falls between a swap's two renames, leaving no checkpoint/): --resume finds the complete copy
    and ends exactly where an uninterrupted run does."""
    recipe = write_recipe(epochs=3, checkpoint_every=5, threads=1)
    full = train(load_recipe(recipe), tmp_path / "full", progress=False)
    run = tmp_path / "killed"
    env = {**os.environ, "SEQLAB_THREADS": "1"}
    code = subprocess.run([sys.executable, "-c", RESUME_AND_DIE, str(recipe), str(run), str(die_at)], env=env).returncode
    assert code == 137
    assert (run / "checkpoint").exists() == (die_at % 2 == 0)
    resumed = train(load_recipe(recipe), run, resume=True, progress=False)
    assert resumed["test"] == full["test"]
    assert resumed["training"]["step"] == full["training"]["step"]
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()
             if "loss" in json.loads(line) and "train_loss" not in json.loads(line)]
    assert steps == sorted(set(steps))  # each logged step once
    assert sorted(p.name for p in run.iterdir() if p.name.startswith(".")) == []


def test_resume_refuses_a_changed_recipe_and_allows_safe_fields(write_recipe, tmp_path, expect_error):
    recipe = write_recipe(epochs=1)
    run = tmp_path / "run"
    train(load_recipe(recipe), run, progress=False)
    expect_error(["train", recipe, "--out", run, "--resume", "--set", "model.hidden_size=32"],
                 "--resume: the recipe differs from the checkpoint's in model.hidden_size")
    expect_error(["train", recipe, "--out", run, "--resume", "--set", "data.tokenizer=basic_english", "--set", "train.lr=0.5"],
                 "data.tokenizer", "train.lr")
    resumed = train(load_recipe(recipe, ["train.epochs=2"]), run, resume=True, progress=False)
    assert resumed["training"]["epoch"] == 2


def test_resumed_epoch_reports_over_all_its_batches(write_recipe, tmp_path, monkeypatch):
    """An epoch interrupted mid-way and resumed reports the same mean loss as the uninterrupted epoch."""
    from seqlab.tasks.classification.task import ClassificationTask

    recipe = write_recipe(epochs=1, checkpoint_every=3, threads=1)
    train(load_recipe(recipe), tmp_path / "full", progress=False)
    original = ClassificationTask.loss
    calls = {"n": 0}

    def stop_at_8(self, model, batch):
        calls["n"] += 1
        if calls["n"] == 8:
            raise KeyboardInterrupt
        return original(self, model, batch)

    monkeypatch.setattr(ClassificationTask, "loss", stop_at_8)
    with pytest.raises(KeyboardInterrupt):
        train(load_recipe(recipe), tmp_path / "part", progress=False)
    monkeypatch.setattr(ClassificationTask, "loss", original)
    train(load_recipe(recipe), tmp_path / "part", resume=True, progress=False)
    epoch = lambda d: [json.loads(l) for l in (d / "metrics.jsonl").read_text().splitlines() if "train_loss" in l][-1]  # noqa: E731
    assert epoch(tmp_path / "part")["train_loss"] == pytest.approx(epoch(tmp_path / "full")["train_loss"], rel=1e-9)


def test_a_finished_run_is_not_replaced_by_accident(write_recipe, tmp_path, expect_error, capsys):
    from seqlab.cli.main import main

    recipe, run = str(write_recipe(epochs=1)), str(tmp_path / "run")
    assert main(["train", recipe, "--out", run, "--no-progress"]) == 0
    weights = tmp_path / "run" / "model" / "model.safetensors"
    before = weights.read_bytes()
    capsys.readouterr()
    expect_error(["train", recipe, "--out", run], "holds a trained model already", "--resume", "--overwrite")
    assert weights.read_bytes() == before
    assert main(["train", recipe, "--out", run, "--no-progress", "--overwrite", "--set", "train.seed=7"]) == 0
    assert weights.read_bytes() != before


def test_ctrl_c_says_how_to_continue(write_recipe, tmp_path, monkeypatch, capsys):
    from seqlab.cli.main import main
    from seqlab.tasks.classification.task import ClassificationTask

    def interrupt(self, model, batch):
        raise KeyboardInterrupt

    monkeypatch.setattr(ClassificationTask, "loss", interrupt)
    assert main(["train", str(write_recipe(epochs=1)), "--out", str(tmp_path / "run"), "--no-progress"]) == 130
    assert "interrupted; `seqlab train … --resume` continues from the last checkpoint" in capsys.readouterr().err
