"""Ctrl-C, then ``--resume``, equals the run that was never interrupted: every epoch's training loss and the final
weights, bit for bit, for each task family. A real SIGINT is sent at a chosen training step: mid-epoch with a
mid-epoch checkpoint to resume from, and mid-epoch without one (the run falls back to the checkpoint of the last
epoch boundary). The resumed run is a fresh process, as after a real Ctrl-C: anything that draws from the global
random generator on a process's first call (the oneDNN probe once did) shows up as a drift from there on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

import trained_models
from seqlab.tasks import load_recipe
from seqlab.tasks import get_task
from seqlab.training.run import train

GRU_DROPOUT = {
    "classification": lambda root: trained_models.classification_recipe(root) | {
        "model": {"name": "rnn_classifier", "cell": "gru", "pooling": "max", "embed_dim": 16, "hidden_size": 16,
                  "dropout": 0.3}},
    "tagging": lambda root: trained_models.tagging_recipe(root) | {
        "model": {"name": "tagger", "cell": "gru", "embed_dim": 16, "hidden_size": 16, "char_hidden": 8, "dropout": 0.3}},
    "language_model": lambda root: trained_models.language_model_recipe(root) | {
        "model": {"name": "rnn_lm", "cell": "gru", "embed_dim": 16, "hidden_size": 32, "num_layers": 1, "dropout": 0.3}},
    "seq2seq": lambda root: trained_models.seq2seq_recipe(root, {
        "name": "seq2seq", "embed_dim": 16, "hidden_size": 32, "attention": "dot", "cell": "gru", "dropout": 0.3}),
    "adding": lambda root: {
        "task": "adding", "data": {"length": 12, "limit": 192},
        "model": {"name": "rnn_regressor", "cell": "gru", "hidden_size": 16},
        "train": {"batch_size": 16, "lr": 0.01, "monitor": "mse", "monitor_mode": "min", "patience": None, "log_every": 0}},
    "captioning": lambda root: {
        "task": "captioning", "data": {"dataset": "digits-captions", "tokenizer": "whitespace", "limit": 96,
                                       "eval_limit": 32, "digits": [2, 3]},
        "model": {"name": "captioner", "channels": [4, 4, 8], "hidden_size": 16, "embed_dim": 8, "dropout": 0.3},
        "train": {"batch_size": 16, "eval_batch_size": 32, "lr": 0.003, "patience": None, "log_every": 0}},
}


def write(root: Path, name: str, recipe: dict, **train_fields) -> Path:
    recipe = {**recipe, "train": {**recipe["train"], "epochs": 3, "threads": 1, **train_fields}}
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    return path


def epoch_losses(run: Path) -> list[float]:
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [line["train_loss"] for line in lines if "train_loss" in line]


def interrupt_at(monkeypatch, task_name: str, step: int) -> None:
    """SIGINT to this process when the ``step``-th training batch's loss is computed (Ctrl-C at that moment)."""
    task_cls, seen = get_task(task_name), {"n": 0}
    original = task_cls.loss

    def loss(self, model, batch):
        if model.training:
            seen["n"] += 1
            if seen["n"] == step:
                os.kill(os.getpid(), signal.SIGINT)
        return original(self, model, batch)

    monkeypatch.setattr(task_cls, "loss", loss)


@pytest.mark.parametrize("family", sorted(GRU_DROPOUT))
def test_sigint_then_resume_equals_the_uninterrupted_run(family, tmp_path, monkeypatch):
    recipe = GRU_DROPOUT[family](tmp_path)
    full = tmp_path / "full"
    train(load_recipe(write(tmp_path, "plain", recipe)), full, progress=False)
    expected, steps = epoch_losses(full), json.loads((full / "results.json").read_text())["training"]["step"] // 3
    assert len(expected) == 3 and steps >= 4
    for point, extra, stop in [("mid-epoch", {"checkpoint_every": 3}, steps + 5),  # after a checkpoint in epoch 2
                               ("boundary", {}, steps + 2)]:
        path, run = write(tmp_path, point, recipe, **extra), tmp_path / point
        with monkeypatch.context() as patch:
            interrupt_at(patch, recipe["task"], stop)
            with pytest.raises(KeyboardInterrupt):
                train(load_recipe(path), run, progress=False)
        resumed = subprocess.run([sys.executable, "-m", "seqlab", "train", str(path), "--out", str(run), "--resume",
                                  "--no-progress"], capture_output=True, text=True, timeout=300)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        last_checkpoint = steps if point == "boundary" else (stop - 1) // 3 * 3  # in steps
        resumed_at = f"epoch 2, batch {last_checkpoint - steps}, step {last_checkpoint}"
        assert resumed_at in resumed.stdout + resumed.stderr, (point, resumed.stdout[-500:])
        assert epoch_losses(run) == expected, point
        a, b = load_file(str(full / "checkpoint" / "model.safetensors")), load_file(str(run / "checkpoint" / "model.safetensors"))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), point
