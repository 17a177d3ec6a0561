"""Checkpoint averaging: a run keeps its last epochs' models (train.keep_epochs), `seqlab average` writes their mean."""

from __future__ import annotations

import json

import pytest
import torch

from seqlab import artifact
from seqlab.artifact import ArtifactError
from seqlab.cli.main import main
from seqlab.training.averaging import average, epoch_models


@pytest.fixture
def kept_run(tmp_path, write_recipe):
    run = tmp_path / "run"
    assert main(["train", str(write_recipe(epochs=4, keep_epochs=3)), "--out", str(run)]) == 0
    return run


def test_a_run_keeps_its_last_epochs_and_their_mean_is_the_average(kept_run):
    kept = epoch_models(kept_run)
    assert [p.name for p in kept] == ["epoch-002", "epoch-003", "epoch-004"]  # the first was deleted
    states = [artifact.load(p).model.state_dict() for p in kept]
    moved = [name for name, t in states[0].items() if t.is_floating_point() and not torch.equal(t, states[-1][name])]
    assert moved, "the epochs' weights differ, or the test proves nothing"
    last_two = average(kept[-2:]).model.state_dict()
    for name, tensor in last_two.items():
        want = (states[1][name].double() + states[2][name].double()) / 2 if tensor.is_floating_point() else states[2][name]
        torch.testing.assert_close(tensor.double(), want.double(), rtol=0, atol=1e-7)


def test_seqlab_average_writes_a_model_that_evaluates(kept_run, capsys):
    assert main(["average", str(kept_run), "--last", "2", "--json"]) == 0
    written = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    out = kept_run / "averaged"
    assert written["out"] == str(out) and [p.split("/")[-1] for p in written["models"]] == ["epoch-003", "epoch-004"]
    assert json.loads((out / "averaged.json").read_text())["models"] == written["models"]
    assert main(["evaluate", str(out), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert scores["accuracy"] > 0.9  # the tiny data is easy: a broken mean (e.g. a sum) would not classify it


def test_models_of_different_runs_are_refused(kept_run, tmp_path, write_recipe):
    other = tmp_path / "other"
    recipe = write_recipe({"name": "rnn_classifier", "embed_dim": 8, "hidden_size": 16}, name="other.yaml", epochs=1)
    assert main(["train", str(recipe), "--out", str(other)]) == 0
    with pytest.raises(ArtifactError, match="only models of one run"):
        average([epoch_models(kept_run)[-1], other / "model"])
    mixed = tmp_path / "mixed"
    assert main(["average", "--models", str(epoch_models(kept_run)[-1]), str(epoch_models(kept_run)[-2]),
                 "--out", str(mixed)]) == 0
    assert artifact.load(mixed).model_config == artifact.load(kept_run).model_config


def test_a_run_without_kept_epochs_says_how_to_keep_them(tmp_path, write_recipe, expect_error):
    run = tmp_path / "plain"
    assert main(["train", str(write_recipe(epochs=1)), "--out", str(run)]) == 0
    expect_error(["average", run], "no epoch models", "train.keep_epochs")
    (run / "epochs" / "epoch-001").mkdir(parents=True)
    expect_error(["average", run, "--last", "2"], "fewer than the 2")
    expect_error(["average", "--models", run / "model"], "--models", "--out")
    expect_error(["average"], "RUN", "--models")


def test_an_epoch_cut_short_by_the_time_budget_is_kept_as_the_last(tmp_path, write_recipe):
    run = tmp_path / "short"
    assert main(["train", str(write_recipe(epochs=3, keep_epochs=2, max_minutes=1e-6)), "--out", str(run)]) == 0
    assert [p.name for p in epoch_models(run)] == ["epoch-001"]


def test_epoch_models_are_ordered_by_number(tmp_path):
    for epoch in (999, 1000, 8):
        (tmp_path / "epochs" / f"epoch-{epoch:03d}").mkdir(parents=True)
    assert [p.name for p in epoch_models(tmp_path, last=2)] == ["epoch-999", "epoch-1000"]
