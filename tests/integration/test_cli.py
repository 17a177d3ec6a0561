"""Every CLI command end to end on tiny data: --help, --json (one JSON object as the last line), errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from seqlab.cli.main import COMMANDS, main


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert "usage: seqlab " + command in capsys.readouterr().out


def test_console_script_runs():
    proc = subprocess.run([sys.executable, "-m", "seqlab", "--help"], capture_output=True, text=True, check=True)
    assert "quickstart" in proc.stdout and "train" in proc.stdout


def test_train_evaluate_predict_summary_json(write_recipe, tmp_path, capsys):
    recipe = write_recipe(epochs=3)
    run_dir = tmp_path / "run"
    code, out, _ = run_cli(capsys, "train", recipe, "--out", run_dir, "--no-progress", "--json", "--set", "train.epochs=2")
    assert code == 0
    results = last_json(out)
    assert results["training"]["epoch"] == 2 and 0 <= results["test"]["accuracy"] <= 1

    code, out, _ = run_cli(capsys, "evaluate", run_dir, "--json")
    assert code == 0 and last_json(out)["accuracy"] == results["test"]["accuracy"]
    code, out, _ = run_cli(capsys, "evaluate", run_dir, "--split", "dev", "--json")
    assert last_json(out)["accuracy"] == results["dev"]["accuracy"]
    code, out, _ = run_cli(capsys, "evaluate", run_dir, "--input", tmp_path / "test.tsv", "--json")
    assert last_json(out)["accuracy"] == results["test"]["accuracy"]

    texts = tmp_path / "texts.txt"
    texts.write_text("the film was great\n\nawful plot\n", encoding="utf-8")
    code, out, _ = run_cli(capsys, "predict", run_dir, "a superb story", "--input", texts, "--json")
    predictions = last_json(out)["predictions"]
    assert [p["text"] for p in predictions] == ["a superb story", "the film was great", "", "awful plot"]
    assert predictions[2] == {"text": "", "skipped": "empty text"}  # kept in place, so output lines up with input
    predictions = predictions[:2] + predictions[3:]
    assert all(p["label"] in ("neg", "pos") and abs(sum(p["probabilities"].values()) - 1) < 1e-5 for p in predictions)
    code, out, _ = run_cli(capsys, "predict", run_dir, "fine")
    assert code == 0 and out.split("\t")[0] in ("neg", "pos")

    code, out, _ = run_cli(capsys, "summary", run_dir, "--json")
    summary = last_json(out)
    assert summary["total_parameters"] == results["parameters"]
    assert {r["layer"] for r in summary["layers"]} >= {"encoder.embedding", "encoder.rnn", "head"}
    code, out, _ = run_cli(capsys, "summary", recipe, "--json")
    assert last_json(out)["total_parameters"] == results["parameters"]
    code, out, _ = run_cli(capsys, "summary", run_dir)
    assert "encoder.rnn" in out and f"{results['parameters']:,}" in out


def test_resume_from_cli(write_recipe, tmp_path, capsys):
    recipe = write_recipe(epochs=2)
    assert run_cli(capsys, "train", recipe, "--out", tmp_path / "r", "--no-progress", "--set", "train.epochs=1")[0] == 0
    code, out, err = run_cli(capsys, "train", recipe, "--out", tmp_path / "r", "--no-progress", "--resume", "--json")
    assert code == 0 and "resumed from" in err and last_json(out)["training"]["epoch"] == 2


def test_data_list_and_verify(capsys, shared_data):
    code, out, _ = run_cli(capsys, "data", "list", "--json")
    names = {d["name"] for d in last_json(out)["datasets"]}
    assert names >= {"mr", "sst2", "sst1", "subj", "trec", "cr", "mpqa", "imdb"}
    code, out, _ = run_cli(capsys, "data", "verify", "mr", "trec", "--json")
    assert code == 0 and last_json(out)["ok"] is True


@pytest.mark.parametrize("argv,message", [
    (["train", "missing.yaml"], "missing.yaml: no such recipe file"),
    (["evaluate", "."], "not a seqlab model directory"),
    (["data", "verify", "nope"], "unknown dataset 'nope'"),
])
def test_errors_are_one_line(argv, message, capsys):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_bad_recipe_field_error(write_recipe, capsys):
    recipe = write_recipe(epochs=1)
    code, _, err = run_cli(capsys, "train", recipe, "--set", "train.optimizer=adamax")
    assert code == 2 and f"{recipe}: train.optimizer: must be one of adam, adamw, sgd, adadelta, got 'adamax'" in err


def test_malformed_data_error(write_recipe, tmp_path, capsys):
    recipe = write_recipe(epochs=1)
    bad = tmp_path / "bad.tsv"
    bad.write_text("text\tlabel\nfine\tpos\nno label here\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "train", recipe, "--set", f"data.train={bad}", "--out", tmp_path / "x")
    assert code == 2 and f"{bad}:3: expected 2 tab-separated fields" in err


def test_summary_keras_convention(tmp_path, capsys):
    """A 16-unit simple RNN over 32 inputs: 784 parameters as Keras prints them (torch.nn: 800)."""
    recipe = tmp_path / "r.yaml"
    recipe.write_text("task: adding\ndata: {length: 5, limit: 10}\nmodel: {name: rnn_regressor, cell: rnn, hidden_size: 16, input_size: 32}\n")
    code, out, _ = run_cli(capsys, "summary", recipe, "--keras", "--json")
    rows = {r["layer"]: r["parameters"] for r in last_json(out)["layers"]}
    # the task sets input_size 2 for the adding problem; check the formula on that layer
    assert rows["rnn"] == 16 * 2 + 16 * 16 + 16
    layers = {r["layer"]: r for r in last_json(out)["layers"]}
    assert not any(name.startswith("bias_hh") for name in layers["rnn"]["shapes"])  # folded: not listed either
    code, out, _ = run_cli(capsys, "summary", recipe, "--json")
    assert {r["layer"]: r["parameters"] for r in last_json(out)["layers"]}["rnn"] == 16 * 2 + 16 * 16 + 32


def test_summary_counts_frozen_parameters(write_recipe, tmp_path, capsys):
    """CNN-static keeps its embedding fixed (train.freeze): summary says how much of the model that is."""
    recipe = write_recipe({"name": "textcnn", "embed_dim": 8, "maps": 4}, freeze=["embedding.weight"], epochs=1)
    code, out, _ = run_cli(capsys, "train", recipe, "--out", tmp_path / "run", "--no-progress")
    code, out, _ = run_cli(capsys, "summary", tmp_path / "run", "--json")
    report = last_json(out)
    embedding = next(r for r in report["layers"] if r["layer"] == "embedding")
    assert report["frozen_parameters"] == embedding["parameters"] == embedding["frozen"] > 0
    assert report["trainable_parameters"] == report["total_parameters"] - report["frozen_parameters"]


def test_diagnose_gradients_json_and_png(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "diagnose", "gradients", "--length", "30", "--hidden", "8", "--out", tmp_path, "--json")
    report = last_json(out)
    assert code == 0 and set(report["cells"]) == {"rnn", "lstm", "gru"}
    rnn = report["cells"]["rnn"]["grad_norm"]
    assert len(rnn) == 30 and rnn[0] < rnn[-1]  # the gradient shrinks going back in time
    assert len(report["cells"]["lstm"]["forget_product"]) == 30
    png = tmp_path / "gradient_flow.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_cross_validation(tmp_path, capsys):
    folder = tmp_path / "classes"
    folder.mkdir()
    from conftest import make_examples

    rows = make_examples(120, 5)
    for label in ("pos", "neg"):
        (folder / f"{label}.txt").write_text("".join(t + "\n" for t, l in rows if l == label), encoding="utf-8")
    recipe = tmp_path / "cv.yaml"
    recipe.write_text(
        f"data: {{train: {folder}, format: folder, tokenizer: whitespace, folds: 3}}\n"
        "model: {name: bow}\n", encoding="utf-8")
    code, out, _ = run_cli(capsys, "train", recipe, "--cv", "--out", tmp_path / "cv", "--no-progress", "--json")
    summary = last_json(out)
    assert code == 0 and summary["folds"] == 3 and len(summary["per_fold"]) == 3
    assert (tmp_path / "cv" / "fold2" / "model" / "config.json").is_file()


def test_quickstart_smoke(tmp_path, capsys, monkeypatch):
    """The main job on a slice of the bundled MR data (the full run is measured in RESULTS.md)."""
    monkeypatch.delenv("SEQLAB_DATA_DIR", raising=False)
    monkeypatch.setenv("SEQLAB_OFFLINE", "1")
    monkeypatch.setenv("SEQLAB_CACHE_DIR", str(tmp_path / "cache"))
    code, out, err = run_cli(capsys, "quickstart", "--out", tmp_path / "qs", "--no-progress", "--json",
                             "--set", "train.epochs=1", "--set", "data.limit=600", "--set", "model.hidden_size=16")
    assert code == 0
    results = last_json(out)
    assert results["sizes"]["test"] == 1067 and 0 <= results["test"]["accuracy"] <= 1
    assert "MR test accuracy" in err and "example predictions" in err
    assert (tmp_path / "qs" / "model" / "model.safetensors").is_file()


def test_debug_shows_the_traceback_of_a_user_error(tmp_path, capsys):
    from seqlab.artifact import ArtifactError
    from seqlab.cli.main import main

    assert main(["predict", str(tmp_path / "nowhere"), "x"]) == 2  # one line by default
    assert "no such directory" in capsys.readouterr().err
    with pytest.raises(ArtifactError, match="no such directory"):
        main(["--debug", "predict", str(tmp_path / "nowhere"), "x"])


def test_packaged_recipes_are_listed_shown_and_found_by_name(capsys):
    from seqlab.config import ConfigError, find_recipe, packaged_recipes

    assert main(["recipes", "--json"]) == 0
    listed = {r["name"]: r for r in json.loads(capsys.readouterr().out.strip().splitlines()[-1])["recipes"]}
    assert set(listed) == set(packaged_recipes()) and listed["mr-textcnn"]["model"] == "textcnn"
    assert find_recipe("mr-textcnn") == packaged_recipes()["mr-textcnn"]
    with pytest.raises(ConfigError, match="did you mean 'mr-textcnn'"):
        find_recipe("mr-textcnm")
    assert main(["config", "mr-textcnn", "--set", "train.lr=0.01", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert shown["train"]["lr"] == 0.01 and shown["model"]["widths"] == [3, 4, 5] and "patience" in shown["train"]
    assert main(["config", "mr-textcnn", "--set", "task=classificaton"]) == 2  # checked as `seqlab train` checks it
    assert "did you mean 'classification'" in capsys.readouterr().err


def test_the_wheel_ships_the_recipes_the_page_and_the_demo_data(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), "."],
                          cwd=Path(__file__).parents[2], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    import zipfile

    (wheel,) = tmp_path.glob("seqlab-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"seqlab/recipes/mr-textcnn.yaml", "seqlab/serving/static/index.html", "seqlab/data/builtin/quickstart.yaml",
            "seqlab/data/builtin/mr/rt-polarity.pos"} <= names


def test_bash_completion_completes_commands_options_and_recipe_names(tmp_path, capsys):
    assert main(["completion", "bash"]) == 0
    script = tmp_path / "seqlab.bash"
    script.write_text(capsys.readouterr().out, encoding="utf-8")

    def complete(*words: str) -> list[str]:
        line = " ".join(f"'{w}'" for w in ("seqlab", *words))
        done = subprocess.run(["bash", "-c", f"source {script}; COMP_WORDS=({line}); COMP_CWORD={len(words)}; _seqlab; "
                               'printf "%s\\n" "${COMPREPLY[@]}"'], capture_output=True, text=True, check=True, cwd=tmp_path)
        return done.stdout.split()

    assert complete("tr") == ["train", "translate"]
    assert "--overwrite" in complete("train", "--ov")
    assert "mr-textcnn" in complete("train", "mr-textc")
    assert complete("serve", "--ru") == ["--runtime"]


def test_every_command_and_option_explains_itself():
    """Each command and sub-command has a description; each argument has a help text (issue: --help that explains)."""
    import argparse

    from seqlab.cli.main import build_parser

    missing = []

    def walk(parser, path):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    if not sub.description:
                        missing.append(f"{' '.join(path + [name])}: no description")
                    walk(sub, path + [name])
            elif not action.help:
                missing.append(f"{' '.join(path)} {'/'.join(action.option_strings) or action.dest}: no help")

    walk(build_parser(), ["seqlab"])
    assert not missing, "\n".join(missing)
