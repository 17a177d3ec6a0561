"""Checkpoint averaging, as fairseq's ``scripts/average_checkpoints.py``: the element-wise mean of the weights of
models one run kept at the end of its last epochs (``train.keep_epochs``, in ``RUN/epochs/epoch-NNN``),

    θ̄ = (1/K) Σₖ θₖ

over every floating-point tensor (accumulated in float64, stored in the models' dtype); integer tensors are the
last model's. The models must agree on the task, the model configuration and their files (vocabularies, labels):
models of different runs are refused, since averaging their weights means nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from .. import artifact
from ..artifact import Artifact, ArtifactError
from .loop import EPOCHS, kept_epochs

AVERAGED = "averaged.json"


def epoch_models(run: str | Path, last: int | None = None) -> list[Path]:
    """The epoch models a run kept, oldest first; the last ``last`` of them when given."""
    folder = Path(run) / EPOCHS
    found = kept_epochs(run)
    if not found:
        raise ArtifactError(f"{folder}: no epoch models (train with --set train.keep_epochs=N to keep the last N)")
    if last is not None:
        if last < 1:
            raise ValueError(f"--last must be at least 1, got {last}")
        if last > len(found):
            raise ArtifactError(f"{folder}: {len(found)} epoch models kept, fewer than the {last} asked for")
        found = found[-last:]
    return found


def average(directories: Sequence[str | Path]) -> Artifact:
    """The mean of the models in ``directories`` (each loaded and checked as any model), as an Artifact whose
    recipe and files are the last model's."""
    if not directories:
        raise ValueError("average: no models given")
    loaded = [artifact.load(d) for d in directories]
    last = loaded[-1]
    for other in loaded[:-1]:
        for what in ("task", "model_config", "files"):
            if getattr(other, what) != getattr(last, what):
                raise ArtifactError(f"{other.path}: its {what.replace('_', ' ')} differs from {last.path}'s; "
                                    "only models of one run can be averaged")
    states = [m.model.state_dict() for m in loaded]
    mean = {}
    for name, tensor in states[-1].items():
        if tensor.is_floating_point():
            total = torch.zeros(tensor.shape, dtype=torch.float64)
            for state in states:
                total += state[name].to(torch.float64)
            mean[name] = (total / len(states)).to(tensor.dtype)
        else:
            mean[name] = tensor
    last.model.load_state_dict(mean)
    return last


def save_average(directories: Sequence[str | Path], out: str | Path) -> Path:
    """Average ``directories`` and write the result as a model directory at ``out``, with ``averaged.json`` naming
    the models it is the mean of."""
    averaged = average(directories)
    out = artifact.save(out, averaged.model, averaged.model_config, averaged.task, averaged.recipe, averaged.files)
    artifact.write_json(out / AVERAGED, {"models": [str(Path(d)) for d in directories]})
    return out
