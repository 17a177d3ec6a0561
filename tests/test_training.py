import json

import pytest
import torch

from seqlab import artifact
from seqlab.tasks import load_recipe
from seqlab.tasks.classification.task import ClassificationTask
from seqlab.training.loop import TrainingDiverged
from seqlab.training.run import train


def weights(path):
    from safetensors.torch import load_file

    return load_file(str(path / "model.safetensors"))


def test_trains_logs_and_reports(write_recipe, tmp_path):
    results = train(load_recipe(write_recipe(epochs=4)), tmp_path / "run", progress=False)
    assert results["test"]["accuracy"] > 0.8  # the tiny data is learnable
    lines = [json.loads(l) for l in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [l["epoch"] for l in lines if "dev_accuracy" in l] == [1, 2, 3, 4]
    assert any("loss" in l and "step" in l for l in lines)
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["test"] == results["test"] and saved["training"]["best_epoch"] >= 1
    assert (tmp_path / "run" / "recipe.yaml").is_file()


@pytest.mark.parametrize("checkpoint_every", [None, 7])
def test_resume_equals_uninterrupted(write_recipe, tmp_path, checkpoint_every):
    extra = {"checkpoint_every": checkpoint_every} if checkpoint_every else {}
    recipe = write_recipe(epochs=3, **extra)
    full = train(load_recipe(recipe), tmp_path / "full", progress=False)
    # stop after one epoch, then continue to three
    train(load_recipe(recipe, ["train.epochs=1"]), tmp_path / "part", progress=False)
    resumed = train(load_recipe(recipe), tmp_path / "part", resume=True, progress=False)
    a, b = weights(tmp_path / "full" / "checkpoint"), weights(tmp_path / "part" / "checkpoint")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert resumed["test"] == full["test"]
    assert resumed["training"]["step"] == full["training"]["step"]


def test_resume_mid_epoch(write_recipe, tmp_path, monkeypatch):
    recipe = write_recipe(epochs=2, checkpoint_every=4)
    full = train(load_recipe(recipe), tmp_path / "full", progress=False)
    calls = {"n": 0}
    original = ClassificationTask.loss

    def crash_at_step_10(self, model, batch):
        calls["n"] += 1
        if calls["n"] == 10:
            raise KeyboardInterrupt
        return original(self, model, batch)

    monkeypatch.setattr(ClassificationTask, "loss", crash_at_step_10)
    with pytest.raises(KeyboardInterrupt):
        train(load_recipe(recipe), tmp_path / "part", progress=False)
    monkeypatch.setattr(ClassificationTask, "loss", original)
    state = json.loads((tmp_path / "part" / "checkpoint" / "trainer.json").read_text())["loop"]
    assert state["step"] == 8 and state["epoch"] == 0 and state["batch_in_epoch"] == 8
    resumed = train(load_recipe(recipe), tmp_path / "part", resume=True, progress=False)
    a, b = weights(tmp_path / "full" / "checkpoint"), weights(tmp_path / "part" / "checkpoint")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed["training"]["step"] == full["training"]["step"]


def test_non_finite_loss_stops_and_keeps_checkpoint(write_recipe, tmp_path, monkeypatch):
    recipe = write_recipe(epochs=3)
    original = ClassificationTask.loss
    calls = {"n": 0}

    def nan_in_epoch_two(self, model, batch):
        calls["n"] += 1
        loss = original(self, model, batch)
        return loss * float("nan") if calls["n"] == 20 else loss

    monkeypatch.setattr(ClassificationTask, "loss", nan_in_epoch_two)
    with pytest.raises(TrainingDiverged, match=r"loss is nan at epoch 2, step 20.*last good checkpoint"):
        train(load_recipe(recipe), tmp_path / "run", progress=False)
    ckpt = tmp_path / "run" / "checkpoint"
    state = json.loads((ckpt / "trainer.json").read_text())["loop"]
    assert state["epoch"] == 1
    assert all(torch.isfinite(t).all() for t in weights(ckpt).values())
    artifact.load(tmp_path / "run" / "model")


def test_early_stopping_and_max_norm(write_recipe, tmp_path):
    model = {"name": "textcnn", "embed_dim": 8, "maps": 4}
    results = train(load_recipe(write_recipe(model, epochs=30, patience=1, max_norm=0.5, max_norm_params=["head.weight"])),
                    tmp_path / "run", progress=False)
    assert results["training"]["epoch"] < 30  # stopped early
    w = artifact.load(tmp_path / "run").model.head.weight
    assert (w.norm(dim=1) <= 0.5 + 1e-5).all()


def test_bow_is_fitted_and_saved(write_recipe, tmp_path, monkeypatch):
    import time

    from seqlab.models.bow import BagOfWords

    fit = BagOfWords.fit_closed_form

    def slow_fit(self, *args):  # the fit's own time must be what train_seconds reports (it once timed dev scoring)
        time.sleep(0.5)
        return fit(self, *args)

    monkeypatch.setattr(BagOfWords, "fit_closed_form", slow_fit)
    results = train(load_recipe(write_recipe({"name": "bow"})), tmp_path / "run", progress=False)
    assert results["training"]["fit"].startswith("closed form")
    assert results["test"]["accuracy"] > 0.8
    assert 0.5 <= results["training"]["train_seconds"] < results["wall_seconds"]


def test_adding_problem_trains_through_the_loop(tmp_path):
    from seqlab.tasks import recipe_from_dict

    recipe = recipe_from_dict({
        "task": "adding", "data": {"length": 12, "limit": 400},
        "model": {"name": "rnn_regressor", "cell": "gru", "hidden_size": 16},
        "train": {"epochs": 3, "batch_size": 20, "lr": 0.01, "monitor": "mse", "monitor_mode": "min", "patience": None},
    })
    results = train(recipe, tmp_path / "run", progress=False)
    assert results["test"]["baseline_mse"] == pytest.approx(1 / 6)
    assert results["test"]["mse"] < results["test"]["baseline_mse"]  # learned something in three short epochs
    from seqlab.evaluation.evaluate import evaluate_dir

    assert evaluate_dir(tmp_path / "run")["mse"] == pytest.approx(results["test"]["mse"])


@pytest.mark.parametrize("precision", ["fp64", "bf16"])
def test_precision_trains_and_the_saved_model_loads_back(write_recipe, tmp_path, precision):
    results = train(load_recipe(write_recipe(epochs=3), [f"train.precision={precision}"]), tmp_path / "run", progress=False)
    assert results["test"]["accuracy"] > 0.8
    art = artifact.load(tmp_path / "run" / "model")
    dtypes = {p.dtype for p in art.model.parameters()}
    assert dtypes == ({torch.float64} if precision == "fp64" else {torch.float32})  # bf16 autocasts; weights stay fp32


def test_csv_and_tensorboard_logs_follow_metrics_jsonl_through_a_resume(write_recipe, tmp_path):
    import csv

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    recipe = write_recipe(epochs=3, log_every=1)
    logs = ["train.log=[jsonl,csv,tensorboard]"]
    train(load_recipe(recipe, logs + ["train.epochs=2"]), tmp_path / "run", progress=False)
    train(load_recipe(recipe, logs), tmp_path / "run", resume=True, progress=False)
    records = [json.loads(l) for l in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in records if "loss" in r and "train_loss" not in r]
    epochs = [r for r in records if "train_loss" in r]
    with open(tmp_path / "run" / "steps.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["step"]) for r in rows] == [r["step"] for r in steps] == list(range(1, len(steps) + 1))
    with open(tmp_path / "run" / "epochs.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3] and float(rows[2]["dev_accuracy"]) == epochs[2]["dev_accuracy"]
    board = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    board.Reload()
    loss = board.Scalars("train/loss")
    assert [e.step for e in loss] == [r["step"] for r in steps]
    assert [round(e.value, 5) for e in loss] == [round(r["loss"], 5) for r in steps]
    assert [e.step for e in board.Scalars("dev/accuracy")] == [r["step"] for r in epochs]
