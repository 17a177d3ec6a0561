"""Resumable training checkpoints, without pickle.

A checkpoint directory is a model artifact (``seqlab.artifact``) plus

* ``trainer.safetensors`` — every tensor of the optimiser state, and torch's global RNG state (``rng.torch``;
  under data parallelism also ``rng.torch.<rank>`` for the other ranks), and ``task.<name>`` for what the task
  carries between batches (``Task.training_state``);
* ``trainer.json`` — the optimiser's non-tensor state and param groups, the schedule, and the loop's
  position (epoch, batch within the epoch, step, best dev metric, epochs without improvement).

The whole directory is written atomically (``artifact.atomic_directory``): a process killed at any
instant leaves a complete checkpoint, restored by ``artifact.recover`` when it is next read or written.
Reading checks it like a model artifact (``artifact.read_config``, ``artifact.read_header``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from .. import artifact


@dataclass
class LoopState:
    epoch: int = 0  # epochs completed
    batch_in_epoch: int = 0  # batches of the current epoch already trained
    step: int = 0  # optimiser updates so far
    best: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0
    tokens: int = 0
    train_seconds: float = 0.0
    history: list[dict] = field(default_factory=list)
    # the current epoch's running sums, so that a resumed epoch reports over all of its batches
    epoch_loss_sum: float = 0.0
    epoch_batches: int = 0
    epoch_tokens: int = 0
    epoch_seconds: float = 0.0
    first_loss: float | None = None  # the first step's loss: a loss DIVERGED times larger stops the run


def _flatten_optimizer(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, meta = {}, {"param_groups": state["param_groups"], "state": {}}
    for pid, entries in state["state"].items():
        slot = meta["state"][str(pid)] = {}
        for key, value in entries.items():
            if torch.is_tensor(value):
                name = f"optimizer.{pid}.{key}"
                tensors[name] = value.detach().cpu().contiguous()
                slot[key] = {"tensor": name}
            else:
                slot[key] = {"value": value}
    return tensors, meta


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state = {}
    for pid, entries in meta["state"].items():
        state[int(pid)] = {k: tensors[v["tensor"]] if "tensor" in v else v["value"] for k, v in entries.items()}
    return {"state": state, "param_groups": meta["param_groups"]}


def save(directory: Path, model: nn.Module, model_config: dict, task_name: str, recipe: dict,
         files: dict, optimizer: torch.optim.Optimizer, schedule_state: dict, loop: LoopState,
         rng_states: list[torch.Tensor] | None = None, task_state: dict[str, torch.Tensor] | None = None) -> None:
    tensors, meta = _flatten_optimizer(optimizer.state_dict())
    tensors.update({f"task.{name}": t.detach().cpu().contiguous() for name, t in (task_state or {}).items()})
    states = rng_states or [torch.get_rng_state()]
    tensors["rng.torch"] = states[0]
    for rank, rng in enumerate(states[1:], start=1):
        tensors[f"rng.torch.{rank}"] = rng
    with artifact.atomic_directory(directory) as tmp:
        artifact.write(tmp, model, model_config, task_name, recipe, files)
        save_file(tensors, str(tmp / "trainer.safetensors"))
        artifact.write_json(tmp / "trainer.json", {"optimizer": meta, "schedule": schedule_state, "loop": asdict(loop)})


@dataclass
class Restored:
    files: dict[str, Any]
    recipe: dict[str, Any]
    loop: LoopState
    optimizer_state: dict
    schedule_state: dict
    rng: torch.Tensor
    weights: Path
    rank_rngs: dict[int, torch.Tensor] = field(default_factory=dict)
    task_state: dict[str, torch.Tensor] = field(default_factory=dict)  # Task.training_state() when it was saved

    def rng_of(self, rank: int) -> torch.Tensor:
        """Rank ``rank``'s saved RNG state (rank 0's when the run had fewer ranks)."""
        return self.rank_rngs.get(rank, self.rng)


def exists(directory: Path) -> bool:
    artifact.recover(directory)
    return (directory / "trainer.json").is_file()


def load(directory: Path) -> Restored:
    """The checkpoint in ``directory``, checked; a damaged one raises ArtifactError naming the file."""
    artifact.recover(directory)
    config = artifact.read_config(directory)
    meta = artifact.read_json(directory / "trainer.json")
    trainer = directory / "trainer.safetensors"
    header = artifact.read_header(trainer)
    try:
        loop = LoopState(**meta["loop"])
        optimizer_meta, schedule = meta["optimizer"], meta["schedule"]
        names = {v["tensor"] for entries in optimizer_meta["state"].values() for v in entries.values() if "tensor" in v}
    except (KeyError, TypeError, AttributeError) as err:
        raise artifact.ArtifactError(f"{directory / 'trainer.json'}: not a seqlab trainer state ({err})") from None
    missing = sorted((names | {"rng.torch"}) - set(header))
    if missing:
        raise artifact.ArtifactError(f"{trainer}: tensor {missing[0]!r} is missing")
    tensors = load_file(str(trainer))
    files = {n: artifact.read_json(directory / f"{n}.json") for n in config["files"]}
    return Restored(files, config["recipe"], loop, _unflatten_optimizer(tensors, optimizer_meta), schedule,
                    tensors["rng.torch"], directory / artifact.WEIGHTS,
                    {int(k.rsplit(".", 1)[1]): v for k, v in tensors.items() if k.startswith("rng.torch.")},
                    {k[len("task."):]: v for k, v in tensors.items() if k.startswith("task.")})
