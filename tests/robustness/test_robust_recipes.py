"""Malformed recipes and --set values: one line naming the file and field (or the --set argument), before any
data is read; hostile YAML (alias bombs, binary, huge) refused quickly. Hypothesis explores the validator."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.config import ConfigError
from seqlab.tasks import load_recipe, recipe_from_dict
from conftest import recipe_dict

BAD_VALUES = [
    ("train.batch_size", -5, "must be greater than 0"),
    ("train.batch_size", 0, "must be greater than 0"),
    ("train.epochs", 0, "must be greater than 0"),
    ("train.lr", 0, "must be greater than 0"),
    ("train.lr", -0.1, "must be greater than 0"),
    ("train.lr", ".nan", "finite number"),
    ("train.lr", ".inf", "finite number"),
    ("train.lr", "fast", "expected a number"),
    ("train.patience", -1, "must be 0 or more"),
    ("train.clip_norm", -1, "must be greater than 0"),
    ("train.max_norm", 0, "must be greater than 0"),
    ("train.weight_decay", -1, "must be 0 or more"),
    ("train.momentum", 1.5, "must be in [0, 1)"),
    ("train.decay", 0, "must be in (0, 1]"),
    ("train.decay", 2, "must be in (0, 1]"),
    ("train.optimizer", "adamax", "must be one of adam"),
    ("train.schedule", "cosine!", "must be one of constant"),
    ("train.monitor_mode", "up", "must be one of min, max"),
    ("train.threads", 0, "must be greater than 0"),
    ("train.max_minutes", -2, "must be greater than 0"),
    ("train.eval_batch_size", -1, "must be greater than 0"),
    ("train.checkpoint_every", 0, "must be greater than 0"),
    ("train.log_every", -1, "must be 0 or more"),
    ("train.warmup_steps", -10, "must be 0 or more"),
    ("train.bucket", "sometimes", "expected true or false"),
    ("train.freeze", {"a": 1}, "expected a list"),
    ("train.epochs", 2.5, "expected an integer"),
    ("train.epochs", True, "expected an integer"),
    ("train.nonsense", 1, "unknown field"),
    ("data.max_length", -1, "must be greater than 0"),
    ("data.limit", -1, "must be greater than 0"),
    ("data.min_freq", 0, "must be greater than 0"),
    ("data.max_size", 0, "must be greater than 0"),
    ("data.dev_fraction", 0, "must be in (0, 1)"),
    ("data.dev_fraction", 1.0, "must be in (0, 1)"),
    ("data.folds", 0, "must be greater than 0"),
    ("data.fold", 10, "must be below data.folds"),
    ("data.fold", -1, "must be 0 or more"),
    ("data.bptt", 0, "must be greater than 0"),
    ("data.beam", 0, "must be greater than 0"),
    ("data.max_ratio", 0, "must be greater than 0"),
    ("data.metric", "rouge", "must be one of bleu, g2p"),
    ("data.digits", [5, 2], "min ≤ max"),
    ("data.digits", [0, 2], "must be greater than 0"),
    ("data.image_height", 0, "must be greater than 0"),
    ("data.lowercase", "maybe", "expected true or false"),
    ("data.text_field", [1, 2], "expected a string"),
    ("data.unknown_thing", 3, "unknown field"),
]


TASK_OF_FIELD = {"bptt": "language_model", "beam": "seq2seq", "max_ratio": "seq2seq", "metric": "seq2seq",
                 "digits": "captioning", "image_height": "captioning"}  # data fields a task owns


@pytest.mark.parametrize("field, value, needle", BAD_VALUES, ids=lambda v: str(v)[:20])
def test_bad_value_is_named_before_any_data_is_read(field, value, needle, tiny_data, tmp_path, expect_error):
    raw = recipe_dict(tiny_data)
    section, name = field.split(".")
    raw["task"] = TASK_OF_FIELD.get(name, raw["task"])
    raw[section][name] = yaml.safe_load(value) if isinstance(value, str) and value.startswith(".") else value
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    (tmp_path / "train.tsv").unlink()  # reading data would fail differently: the recipe must fail first
    expect_error(["train", path, "--out", tmp_path / "run"], f"{path}: {field}", needle)
    assert not (tmp_path / "run").exists()


def test_a_data_field_of_another_task_is_unknown(tiny_data, tmp_path, expect_error):
    raw = recipe_dict(tiny_data)
    raw["data"]["bptt"] = 35  # a language model's field in a classification recipe
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    expect_error(["train", path], "data.bptt: unknown field")


BAD_SETS = [
    ("train.lr=[1, 2", "--set train.lr", "not valid YAML"),
    ("train.lr", "expected key=value", ""),
    ("=3", "empty name", ""),
    ("train..lr=3", "empty name", ""),
    ("train.lr.x=3", "lr is not a section", ""),
    ("model=3", "model: expected a mapping", ""),
    ("data=[1]", "data: expected a mapping", ""),
    ("train.lr=-1", "train.lr: must be greater than 0", ""),
]


@pytest.mark.parametrize("override, needle, extra", BAD_SETS)
def test_bad_set_argument(override, needle, extra, write_recipe, tmp_path, expect_error):
    expect_error(["train", write_recipe(), "--out", tmp_path / "run", "--set", override], needle, extra)


RAW_RECIPES = {
    "not YAML": (b"task: [classification\n", "not valid YAML"),
    "a list": (b"- 1\n- 2\n", "expected a mapping"),
    "a number": (b"42\n", "expected a mapping"),
    "binary": (b"\x00\x01\x02PK\x03\x04", "a binary file"),
    "Latin-1": ("task: clasificación\n".encode("latin-1"), "not UTF-8"),
    "unknown section": (b"task: classification\nmodels: {}\n", "models: unknown section"),
    "model without name": (b"task: classification\nmodel: {hidden_size: 3}\n", "model.name: missing"),
    "model not a mapping": (b"task: classification\nmodel: 3\n", "model: expected a mapping"),
    "unknown task": (b"task: classificaton\nmodel: {name: rnn_classifier}\n", "unknown task"),
    "a mistyped task with no model section": (b"task: taggin\ndata: {dataset: conll2000}\n", "did you mean 'tagging'"),
    "task a list": (b"task: [a]\nmodel: {name: rnn_classifier}\n", "task: expected a string"),
    "tab indentation": (b"task: classification\nmodel:\n\tname: x\n", "not valid YAML"),
    "python object tag": (b"task: !!python/object/apply:os.system ['true']\n", "not valid YAML"),
}


@pytest.mark.parametrize("case", sorted(RAW_RECIPES))
def test_unreadable_recipe(case, tmp_path, expect_error):
    raw, needle = RAW_RECIPES[case]
    path = tmp_path / "recipe.yaml"
    path.write_bytes(raw)
    expect_error(["train", path, "--out", tmp_path / "run"], str(path), needle)


def test_alias_bomb_is_refused_quickly_without_quoting_the_expansion(tmp_path, expect_error):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        lines.append(f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]")
    lines.append("task: *i")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert path.stat().st_size < 1000
    started = time.perf_counter()
    line = expect_error(["train", path], "alias")
    assert time.perf_counter() - started < 5 and len(line) < 400


def test_huge_recipe_and_directory_and_missing_file(tmp_path, expect_error):
    big = tmp_path / "big.yaml"
    big.write_text("task: classification\n" + "# " + "x" * (2 << 20) + "\n", encoding="utf-8")
    expect_error(["train", big], str(big), "a recipe is at most")
    expect_error(["train", tmp_path], str(tmp_path), "is a directory")
    expect_error(["train", tmp_path / "nope.yaml"], "nope.yaml: no such recipe file")


def test_long_bad_value_is_quoted_short(tiny_data, tmp_path, expect_error):
    raw = recipe_dict(tiny_data)
    raw["train"]["lr"] = "x" * 100_000
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    line = expect_error(["train", path], "train.lr")
    assert len(line) < 400


def test_out_directory_that_is_a_file_is_refused_before_data(write_recipe, tmp_path, expect_error):
    target = tmp_path / "taken"
    target.write_text("not a directory")
    expect_error(["train", write_recipe(), "--out", target], str(target), "is a file")


NUMBERS = st.one_of(st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                    st.text(max_size=12), st.none(), st.lists(st.integers(-3, 3), max_size=3))


@settings(max_examples=300, deadline=None)
@given(section=st.sampled_from(["train", "data"]),
       field=st.sampled_from(["batch_size", "lr", "epochs", "patience", "clip_norm", "dropout", "dev_fraction", "fold",
                              "folds", "max_length", "limit", "min_freq", "momentum", "decay", "optimizer", "digits",
                              "beam", "threads", "max_minutes", "bptt"]),
       value=NUMBERS)
def test_validator_only_ever_answers_with_a_recipe_or_a_config_error(section, field, value):
    raw = {"task": "classification", "model": {"name": "rnn_classifier"}, section: {field: value}}
    try:
        recipe = recipe_from_dict(raw, "r.yaml")
    except ConfigError as err:
        message = str(err)
        assert message.startswith(f"r.yaml: {section}.") and "\n" not in message and len(message) < 800
        return
    cfg = getattr(recipe, section)
    got = getattr(cfg, field, None)
    if isinstance(got, (int, float)) and not isinstance(got, bool):
        assert got == got and abs(got) != float("inf")  # accepted numbers are finite
    if field in ("batch_size", "epochs", "folds", "max_length", "limit", "min_freq", "beam", "threads", "bptt") and got is not None:
        assert got > 0


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_any_text_as_a_recipe_file_gives_a_recipe_or_a_config_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("r") / "r.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_recipe(path)
    except ConfigError as err:
        assert str(path) in str(err) and "\n" not in str(err)


BAD_ARGUMENTS = [
    (["generate", "DIR", "--top-k", "-5"], "argument --top-k: must be at least 1, got -5"),
    (["generate", "DIR", "--top-k", "0"], "argument --top-k: must be at least 1, got 0"),
    (["generate", "DIR", "--top-p", "1.5"], "argument --top-p: must be in (0, 1], got 1.5"),
    (["generate", "DIR", "--top-p", "0"], "argument --top-p: must be in (0, 1], got 0"),
    (["generate", "DIR", "--temperature", "nan"], "argument --temperature: must be a finite number ≥ 0, got nan"),
    (["generate", "DIR", "--temperature", "-1"], "argument --temperature: must be a finite number ≥ 0"),
    (["generate", "DIR", "--temperature", "inf"], "argument --temperature: must be a finite number ≥ 0"),
    (["generate", "DIR", "--samples", "-1"], "argument --samples: must be at least 1, got -1"),
    (["generate", "DIR", "--samples", "0"], "argument --samples: must be at least 1"),
    (["generate", "DIR", "--max-tokens", "0"], "argument --max-tokens: must be at least 1"),
    (["generate", "DIR", "--max-tokens", "ten"], "argument --max-tokens: expected an integer, got 'ten'"),
    (["translate", "DIR", "x", "--beam", "0"], "argument --beam: must be at least 1, got 0"),
    (["translate", "DIR", "x", "--n-best", "0"], "argument --n-best: must be at least 1"),
    (["evaluate", "DIR", "--beam", "-2"], "argument --beam: must be at least 1"),
    (["evaluate", "DIR", "--worst", "-1"], "argument --worst: must be 0 or more"),
    (["caption", "DIR", "--beam", "0"], "argument --beam: must be at least 1"),
    (["diagnose", "adding", "--length", "0"], "argument --length: must be at least 1"),
    (["embed", "neighbours", "v.txt", "king", "-k", "0"], "argument -k: must be at least 1"),
    (["embed", "train", "wikitext2", "--dim", "-3"], "argument --dim: must be at least 1"),
]


@pytest.mark.parametrize("argv, needle", BAD_ARGUMENTS, ids=lambda v: " ".join(v)[:40] if isinstance(v, list) else None)
def test_bad_command_line_values(argv, needle, capsys):
    from seqlab.cli.main import main

    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and needle in err and "Traceback" not in err


def test_sampler_refuses_values_out_of_range():
    import torch

    from seqlab.decoding.sampling import choose

    logits = torch.randn(2, 5)
    for kwargs, needle in (({"temperature": float("nan")}, "temperature"), ({"top_k": -5}, "top_k"),
                           ({"top_p": 0.0}, "top_p"), ({"temperature": -1.0}, "temperature")):
        with pytest.raises(ValueError, match=needle):
            choose(logits, **kwargs)


def test_data_paths_are_read_from_the_recipes_folder(tmp_path, monkeypatch):
    """`seqlab train mydata/recipe.yaml` from the parent finds mydata/train.tsv; absolute paths and files that
    only exist relative to the current directory keep working."""
    from conftest import make_examples, write_tsv

    folder = tmp_path / "mydata"
    folder.mkdir()
    for split, seed in (("train", 1), ("dev", 2)):
        write_tsv(folder / f"{split}.tsv", make_examples(40, seed))
    test = write_tsv(tmp_path / "elsewhere.tsv", make_examples(20, 3))
    raw = {"task": "classification", "model": {"name": "rnn_classifier"},
           "data": {"train": "train.tsv", "dev": "dev.tsv", "test": str(test), "vectors": "vec.txt"}}
    (folder / "recipe.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    recipe = load_recipe("mydata/recipe.yaml")
    assert Path(recipe.data.train).resolve() == folder / "train.tsv" and Path(recipe.data.dev).resolve() == folder / "dev.tsv"
    assert recipe.data.test == str(test) and recipe.data.vectors == "vec.txt"  # absolute kept; missing left as given
    raw["data"]["dev"] = "dve.tsv"  # a typo: named with the field and both places looked in, before any work
    (folder / "recipe.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"mydata/recipe.yaml: data.dev: no such file 'dve.tsv' \(looked for "
                       + f"{folder / 'dve.tsv'} or {tmp_path / 'dve.tsv'}"):
        load_recipe("mydata/recipe.yaml")


def test_set_accepts_a_comma_separated_list():
    from seqlab.models import registry
    from seqlab.training.run import load_recipe

    recipe = load_recipe(str(Path(__file__).parents[2] / "recipes" / "mr-textcnn.yaml"),
                         ["model.widths=3,4", "train.freeze=embedding.weight, head.weight"])
    assert recipe.train.freeze == ["embedding.weight", "head.weight"]
    _, config = registry.build({**recipe.model, "vocab_size": 10, "num_classes": 2}, recipe.source)
    assert config["widths"] == [3, 4]
