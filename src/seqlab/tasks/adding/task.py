"""The adding problem (Hochreiter & Schmidhuber 1997; Le, Jaitly & Hinton 2015): a test of long memory.

Each example is T steps of two features: a value x_t ~ U(0, 1) and a marker, 1 at exactly two steps (one in
the first half, one in the second) and 0 elsewhere. The target is the sum of the two marked values. A model
that ignores the input and predicts the mean, 1, scores MSE = Var(u₁ + u₂) = 2/12 ≈ 0.167; a model that
remembers across T steps scores near 0. Examples are generated from ``data.split_seed``, so every run sees
the same data. The metric is mean squared error (lower is better; monitor ``mse`` with mode ``min``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...config import DataConfig
from ...data import batching
from ..base import Task

BASELINE_MSE = 2.0 / 12.0


@dataclass
class AddingSplit:
    inputs: torch.Tensor  # [N, T, 2]
    targets: torch.Tensor  # [N]

    def __len__(self) -> int:
        return self.targets.numel()


@dataclass
class AddingBatch:
    inputs: torch.Tensor  # [B, T, 2]
    targets: torch.Tensor  # [B]

    @property
    def n_tokens(self) -> int:
        return self.inputs.size(0) * self.inputs.size(1)


def make_adding(n: int, length: int, generator: torch.Generator) -> AddingSplit:
    values = torch.rand(n, length, generator=generator)
    half = length // 2
    first = torch.randint(0, half, (n,), generator=generator)
    second = torch.randint(half, length, (n,), generator=generator)
    markers = torch.zeros(n, length)
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    return AddingSplit(torch.stack([values, markers], -1), values[rows, first] + values[rows, second])


@dataclass
class AddingData(DataConfig):
    """``data:`` of the adding problem: ``limit`` is the training set's size, ``length`` the sequence length T."""

    length: int = 100  # sequence length T

    def default_monitor(self) -> str:
        return "mse"


class AddingTask(Task):
    name = "adding"
    data_config = AddingData

    def __init__(self, length: int):
        self.length = length

    def gradient_inputs(self, model: nn.Module, text: str | None, length: int, batch: int,
                        seed: int) -> torch.Tensor:
        """Fresh adding-problem sequences of ``length`` steps (``text`` unused)."""
        return make_adding(batch, length, torch.Generator().manual_seed(seed)).inputs

    @classmethod
    def from_recipe(cls, cfg: DataConfig, source: str = "<recipe>") -> tuple["AddingTask", dict]:
        g = torch.Generator().manual_seed(cfg.split_seed)
        n = cfg.limit or 20_000
        splits = {"train": make_adding(n, cfg.length, g), "dev": make_adding(1000, cfg.length, g),
                  "test": make_adding(1000, cfg.length, g)}
        return cls(cfg.length), splits

    @classmethod
    def load_split(cls, cfg: DataConfig, split: str, source: str = "<recipe>") -> AddingSplit:
        return cls.from_recipe(cfg, source)[1][split]

    @classmethod
    def from_files(cls, files: dict[str, Any], recipe: dict[str, Any]) -> "AddingTask":
        return cls(files["adding"]["length"])

    def files(self) -> dict[str, Any]:
        return {"adding": {"length": self.length}}

    def encode(self, split: AddingSplit) -> AddingSplit:
        return split

    def batch_lengths(self, split: AddingSplit) -> list[int]:
        return [self.length] * len(split)

    def batches(self, split: AddingSplit, batch_size: int, generator: torch.Generator | None = None,
                shuffle: bool = False, bucket: bool = True) -> Iterator[AddingBatch]:
        order = torch.randperm(len(split), generator=generator) if shuffle else torch.arange(len(split))
        for position, start in enumerate(range(0, len(split), batch_size)):
            idx = order[start : start + batch_size]
            if batching.SHARD.world > 1:  # data parallelism: this rank's piece (seqlab.data.batching.Shard)
                idx = torch.as_tensor(batching.SHARD.take(idx.tolist(), position))
            yield AddingBatch(split.inputs[idx], split.targets[idx])

    def model_section(self, section: dict[str, Any]) -> dict[str, Any]:
        return {**section, "input_size": 2, "outputs": 1}

    def loss(self, model: nn.Module, batch: AddingBatch) -> torch.Tensor:
        return F.mse_loss(model(batch.inputs).squeeze(-1), batch.targets)

    def predict(self, model: nn.Module, batch: AddingBatch) -> list[float]:
        with torch.no_grad():
            return model(batch.inputs.to(batching.device_of(model))).squeeze(-1).tolist()

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: AddingSplit, batch_size: int = 256) -> dict[str, Any]:
        model.eval()
        total = 0.0
        for batch in self.batches(split, batch_size):
            batch = batching.to_device(batch, batching.device_of(model))
            total += F.mse_loss(model(batch.inputs).squeeze(-1), batch.targets, reduction="sum").item()
        mse = total / len(split)
        return {"mse": mse, "baseline_mse": BASELINE_MSE, "n": len(split)}
