"""The one training loop. It knows the Task contract, never the model:

    for each epoch:  for each batch (order fixed by seed and epoch):
        loss = task.loss(model, batch)            — stop if not finite, or DIVERGED × the first step's loss
        backward; clip gradients by norm           — stop if the norm is not finite
        optimiser step; schedule; max-norm constraint
        every ``checkpoint_every`` steps: checkpoint
    evaluate on dev; keep the best model (``monitor``); checkpoint; stop early after ``patience`` bad epochs
    ``max_minutes`` of training spent: end the epoch where it is, evaluate, checkpoint and stop

Outputs in ``out_dir``: ``model/`` (best artifact), ``checkpoint/`` (resumable), ``epochs/epoch-NNN/`` (the
models of the last ``keep_epochs`` epochs, for checkpoint averaging: ``training.averaging``), ``metrics.jsonl``
(one JSON object per log line; ``train.log`` adds CSV files and TensorBoard events: ``training.logs``). A stop on a non-finite value raises ``TrainingDiverged`` before the
update is applied, so the weights and the last checkpoint stay good.

Resuming restores weights, optimiser, schedule, torch's RNG, the loop position and what the task carries between
batches (``Task.training_state``: a language model's hidden state; in one process: under data parallelism
each rank's restarts from zero), then
skips the batches of the current epoch already trained: the result equals an uninterrupted run.

With ``world`` (``training.distributed``: torchrun, several processes) the same loop runs on every rank: the
model is wrapped in DistributedDataParallel, each rank trains on its piece of every batch, its loss weighted so
that the ranks' gradients average to the global batch's, and only rank 0 writes or evaluates.
"""

from __future__ import annotations

import itertools
import math
import shutil
import time
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path
from collections.abc import Sized
from typing import Any, Callable

import torch
from rich.console import Console
from safetensors.torch import load_model
from torch import nn

from .. import artifact
from ..config import ConfigError, Recipe
from ..data.batching import Shard, cast_floats, device_of, sharded, to_device
from ..models.transfer import layer_groups
from ..tasks.base import Task
from . import checkpoint
from .checkpoint import LoopState
from .distributed import World
from .logs import RunLog
from .optim import Schedule, apply_max_norm, build_optimizer, discriminative_groups
from .progress import EpochProgress


EPOCHS = "epochs"  # train.keep_epochs: the models of the last epochs, epochs/epoch-NNN
DIVERGED = 1000.0  # no run that learns has a loss 1000 times its first step's (≈ ln V at initialisation)


class TrainingDiverged(RuntimeError):
    """The loss or gradient norm became NaN or infinite, or the loss grew DIVERGED times its first value."""


def _better(value: float, best: float | None, mode: str) -> bool:
    if best is None:
        return True
    return value > best if mode == "max" else value < best


def named_parameters(model: nn.Module, recipe: Recipe) -> dict[str, nn.Parameter]:
    """The model's parameters by name, ``train.max_norm_params`` and ``train.freeze`` checked against them (one
    line naming the field) and the frozen ones frozen."""
    cfg, named = recipe.train, dict(model.named_parameters())
    for field, names in (("max_norm_params", cfg.max_norm_params), ("freeze", cfg.freeze)):
        for name in names:
            if name not in named:
                raise ValueError(f"{recipe.source}: train.{field}: no parameter {name!r} (have: {', '.join(named)})")
    for name in cfg.freeze:
        named[name].requires_grad_(False)
    return named


def layer_groups_of(model: nn.Module, model_config: dict, recipe: Recipe) -> list | None:
    """The layer groups (bottom to top) that discriminative rates and gradual unfreezing need, or None when the
    recipe asks for neither; a ConfigError for a model without them."""
    cfg = recipe.train
    if not (cfg.lr_group_decay or cfg.unfreeze == "gradual"):
        return None
    if "encoder_from" not in model_config:  # models that take an LM's encoder have layer groups
        field = "lr_group_decay" if cfg.lr_group_decay else "unfreeze"
        raise ConfigError(f"{recipe.source}: train.{field}: model {model_config['name']} has no layer groups "
                          "(rnn_classifier and tagger have)")
    return layer_groups(model, model.encoder_parts())


def unfreeze_top(groups: list, epoch: int, frozen: set[int]) -> None:
    """ULMFiT's gradual unfreezing: in epoch ``epoch`` (from 0) the top ``epoch + 1`` groups train (never a
    parameter of ``train.freeze``)."""
    for g, group in enumerate(groups):
        for p in group:
            p.requires_grad_(g >= len(groups) - 1 - epoch and id(p) not in frozen)


def restore(ckpt_dir: Path, task: Task, model: nn.Module, optimizer: torch.optim.Optimizer, schedule: Schedule,
            world: World, device: torch.device) -> LoopState:
    """A checkpoint's weights (checked against the model first), optimiser, schedule, this rank's RNG and what the
    task carried between batches; returns the loop position."""
    restored = checkpoint.load(ckpt_dir)
    artifact.check_weights(restored.weights, artifact.read_header(restored.weights), model)
    load_model(model, str(restored.weights))
    optimizer.load_state_dict(restored.optimizer_state)
    schedule.load_state_dict(restored.schedule_state)
    torch.set_rng_state(restored.rng_of(world.rank))
    state = restored.loop
    if state.batch_in_epoch:  # mid-epoch: what the task carried into the next batch
        task.restore_training_state({k: v.to(device) for k, v in restored.task_state.items()})
    return state


def loss_problem(value: float, first: float | None, lr: float) -> tuple[str, str, str] | None:
    """(what, why, hint) when a step's loss means training has failed — not finite, or over DIVERGED times the
    first step's — else None."""
    if not math.isfinite(value):
        return f"loss is {value}", "", "try a lower train.lr"
    if first is not None and value > DIVERGED * max(first, 1e-3):
        return (f"loss {value:.3g}", f" is over {DIVERGED:g} times the first step's ({first:.3g}): training diverged",
                f"try a lower train.lr (now {lr:g})")
    return None


def diverged(what: str, ckpt_dir: Path, hint: str) -> TrainingDiverged:
    """The one-line error for a failed step; the update was not applied, so the last checkpoint is good."""
    return TrainingDiverged(f"{what}; stopped before the update (last good checkpoint: "
                            f"{ckpt_dir if ckpt_dir.exists() else 'none yet'}); {hint}")


def fit(task: Task, model: nn.Module, model_config: dict, recipe: Recipe, train, dev, out_dir: Path,
        out: Console, resume: bool = False, progress: bool = True,
        after_step: Callable[[], str | None] | None = None, world: World | None = None) -> LoopState:
    """Train ``model`` on ``train``, selecting by ``dev``; return the final loop state.

    ``after_step`` is called after every optimiser step; a message it returns (the thread governor's
    change of threads) is printed and logged. ``world``: this process's rank among data-parallel ranks.
    """
    loop = Loop(task, model, model_config, recipe, out_dir, out, world or World(), progress, after_step)
    loop.start(math.ceil(len(train) / recipe.train.batch_size), resume)
    try:
        for epoch in range(loop.state.epoch, recipe.train.epochs):
            bar, batches, out_of_time = loop.train_epoch(epoch, train)
            if loop.end_epoch(epoch, dev, bar, batches, out_of_time):
                break
    finally:
        if loop.run_log is not None:
            loop.run_log.close()
    return loop.state


class Loop:
    """One run's training: the set-up (``__init__``, ``start``), an epoch of steps (``train_epoch``, ``step``) and
    what follows each epoch (``end_epoch``: dev scores, the best model, checkpoint, early stop, time budget)."""

    def __init__(self, task: Task, model: nn.Module, model_config: dict, recipe: Recipe, out_dir: Path,
                 out: Console, world: World, progress: bool, after_step: Callable[[], str | None] | None):
        self.task, self.model, self.model_config, self.recipe, self.cfg = task, model, model_config, recipe, recipe.train
        self.out_dir, self.out, self.world, self.main, self.progress = out_dir, out, world, world.main, progress
        self.after_step = after_step
        out_dir.mkdir(parents=True, exist_ok=True)
        self.ckpt_dir = out_dir / "checkpoint"
        self.named = named_parameters(model, recipe)
        self.float64 = self.cfg.precision == "fp64"  # the model is float64 already (run.py); its float inputs follow
        self.device = device_of(model)  # batches are built on the CPU and moved where the model is (train.device)
        self.autocast = (lambda: torch.autocast(self.device.type, dtype=torch.bfloat16)) \
            if self.cfg.precision == "bf16" else nullcontext
        self.parallel = world.wrap(model)  # DDP across ranks; the model itself in one process
        self.groups = layer_groups_of(model, model_config, recipe)
        self.optimizer = build_optimizer(discriminative_groups(self.groups, self.cfg) if self.groups else
                                         model.parameters(), self.cfg, recipe.source)
        self.frozen = {id(self.named[name]) for name in self.cfg.freeze}
        self.state = LoopState()
        self.run_log: RunLog | None = None

    def start(self, steps_per_epoch: int, resume: bool) -> None:
        """The schedule, the resumed state (or each rank's own dropout seed), the log and the time budget."""
        cfg, world = self.cfg, self.world
        self.schedule = Schedule(self.optimizer, cfg, steps_per_epoch * cfg.epochs, self.recipe.source)
        if resume:
            self.state = restore(self.ckpt_dir, self.task, self.model, self.optimizer, self.schedule, world, self.device)
            self.out.print(f"resumed from {self.ckpt_dir}: epoch {self.state.epoch + 1}, batch "
                           f"{self.state.batch_in_epoch}, step {self.state.step}")
        elif world.size > 1:  # each rank its own dropout draws (a resumed run restores each rank's state)
            torch.manual_seed(cfg.seed * 1_000 + world.rank)
        self.run_log = RunLog(self.out_dir, cfg.log, self.state.step if resume else None) if self.main else None
        self.budget_end = time.perf_counter() + cfg.max_minutes * 60 if cfg.max_minutes else None

    def save_checkpoint(self) -> None:
        rngs = self.world.rng_states()  # a collective: every rank calls it
        if self.main:
            task = self.task
            checkpoint.save(self.ckpt_dir, self.model, self.model_config, task.name, self.recipe.to_dict(),
                            task.files(), self.optimizer, self.schedule.state_dict(), self.state, rngs,
                            task.training_state() if self.world.size == 1 else None)

    def log(self, record: dict) -> None:
        if self.run_log is not None:
            self.run_log.write(record)

    def past_budget(self) -> bool:
        return self.budget_end is not None and time.perf_counter() > self.budget_end

    def train_epoch(self, epoch: int, train: Any) -> tuple[EpochProgress, Any, bool]:
        """One epoch's batches (order fixed by seed and epoch; a resumed epoch skips those already trained), each a
        ``step``; returns the progress bar, the batches and whether the time budget cut the epoch short."""
        cfg, state, world = self.cfg, self.state, self.world
        if self.groups and cfg.unfreeze == "gradual":  # ULMFiT: the top group first, one more group each epoch
            unfreeze_top(self.groups, epoch, self.frozen)
            if self.main and epoch < len(self.groups):
                n = len(self.groups)
                self.out.print(f"epoch {epoch + 1}: training the top {min(epoch + 1, n)} of {n} layer groups")
        generator = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
        with sharded(world.rank, world.size) if world.size > 1 else nullcontext(Shard()) as shard:
            batches = self.task.batches(train, cfg.batch_size, generator, shuffle=True, bucket=cfg.bucket)
            if not isinstance(batches, Sized):  # made here, under this rank's shard; a task may instead hand
                batches = list(batches)  # batches made as they are needed, with their number (a streamed corpus)
        first = state.batch_in_epoch  # > 0 only when resuming mid-epoch
        restored_sums = (state.epoch_loss_sum, state.epoch_batches, state.epoch_tokens, state.epoch_seconds) if first \
            else (0.0, 0, 0, 0.0)
        bar = EpochProgress(len(batches) - first, f"epoch {epoch + 1}/{cfg.epochs}", self.out,
                            self.progress and self.main, restored_sums)
        self.model.train()
        last = time.perf_counter()
        for i, batch in enumerate(itertools.islice(batches, first, None), start=first):
            try:
                value, tokens, spent = self.step(batch, i in shard.stand_ins, epoch)
            except TrainingDiverged:
                bar.close()
                raise
            state.step += 1
            state.batch_in_epoch = i + 1
            state.tokens += int(tokens)
            bar.update(value, int(tokens))
            state.epoch_loss_sum, state.epoch_batches, state.epoch_tokens = bar.loss_sum, bar.batches, bar.tokens
            state.epoch_seconds = bar.elapsed
            state.train_seconds += time.perf_counter() - last  # kept current, so any checkpoint counts each second once
            last = time.perf_counter()
            self.after_update(epoch, value)
            if spent and i + 1 < len(batches):
                bar.close()
                return bar, batches, True
        bar.close()
        return bar, batches, False

    def step(self, batch: Any, stand_in: bool, epoch: int) -> tuple[float, int, bool]:
        """Loss, backward, clipped gradients, the optimiser's update: (the global batch's mean loss, its tokens,
        whether the time budget is spent). A loss or gradient norm that shows training failed raises
        ``TrainingDiverged`` before the update, so the weights and the last checkpoint stay good."""
        cfg, world, state, model = self.cfg, self.world, self.state, self.model
        batch = to_device(batch, self.device)
        if self.float64:
            batch = cast_floats(batch, torch.float64)
        with self.autocast():
            loss = self.task.loss(self.parallel, batch)
        spent = self.past_budget()
        if world.size > 1:  # the global batch's mean loss, tokens and the time decision, the same on every rank
            n = 0 if stand_in else self.task.loss_count(model, batch)
            total, count, tokens, late = world.sum([loss.item() * n, n, batch.n_tokens if n else 0, float(spent)])
            value, spent = total / max(count, 1), late > 0
            loss = loss * (n * world.size / max(count, 1))
        else:
            value, tokens = loss.item(), batch.n_tokens
        where = f"epoch {epoch + 1}, step {state.step + 1}"
        problem = loss_problem(value, state.first_loss, cfg.lr)
        if problem:
            raise diverged(f"{problem[0]} at {where}{problem[1]}", self.ckpt_dir, problem[2])
        state.first_loss = value if state.first_loss is None else state.first_loss
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_norm or float("inf"))
        if not torch.isfinite(norm):
            raise diverged(f"gradient norm is {norm.item()} at {where}", self.ckpt_dir, "try train.clip_norm")
        self.optimizer.step()
        self.schedule.after_batch()
        if cfg.max_norm:
            apply_max_norm(self.named, cfg.max_norm_params, cfg.max_norm)
        return value, tokens, spent

    def after_update(self, epoch: int, value: float) -> None:
        """The step's log line, periodic checkpoint and the thread governor's word, as the recipe asks."""
        cfg, step = self.cfg, self.state.step
        if cfg.log_every and step % cfg.log_every == 0:
            self.log({"step": step, "epoch": epoch + 1, "loss": value, "lr": self.schedule.lr})
        if cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
            self.save_checkpoint()
        if self.after_step is not None and (message := self.after_step()):
            self.out.print(message)
            self.log({"step": step, "epoch": epoch + 1, "event": message})

    def end_epoch(self, epoch: int, dev: Any, bar: EpochProgress, batches: Any, out_of_time: bool) -> bool:
        """Dev scores (rank 0 evaluates; every rank takes its scores and its clock, so all decide alike), the best
        model kept, the epoch's model kept, the checkpoint; True when the run stops here (time or patience)."""
        cfg, state, main, model = self.cfg, self.state, self.main, self.model
        scores, late = self.world.share([self.task.evaluate(model, dev, cfg.eval_batch_size) if main else None,
                                         self.past_budget()])
        if cfg.monitor not in scores:
            raise ValueError(f"{self.recipe.source}: train.monitor: {cfg.monitor!r} is not a dev metric "
                             f"(have: {', '.join(scores)})")
        improved = _better(scores[cfg.monitor], state.best, cfg.monitor_mode)
        if not out_of_time:
            state.epoch, state.batch_in_epoch = epoch + 1, 0
            state.epoch_loss_sum, state.epoch_batches, state.epoch_tokens, state.epoch_seconds = 0.0, 0, 0, 0.0
        if improved:
            state.best, state.best_epoch, state.bad_epochs = scores[cfg.monitor], epoch + 1, 0
            if main:
                artifact.save(self.out_dir / "model", model, self.model_config, self.task.name, self.recipe.to_dict(),
                              self.task.files())
        else:
            state.bad_epochs += 1
        if not out_of_time:
            self.schedule.after_epoch(epoch + 1, improved)
        if main and cfg.keep_epochs:  # an epoch the time budget cut short is kept too: it ends the run
            keep_epoch(self.out_dir, epoch + 1, cfg.keep_epochs, model, self.model_config, self.task, self.recipe)
        record = {"epoch": epoch + 1, "step": state.step, "train_loss": bar.mean_loss,
                  "tokens_per_s": bar.tokens_per_s, "train_seconds": state.train_seconds, "lr": self.schedule.lr,
                  **{f"dev_{k}": v for k, v in scores.items() if isinstance(v, (int, float))}}
        state.history.append(record)
        self.log(record)
        self.save_checkpoint()
        mark = " *" if improved else ""
        self.out.print(f"epoch {epoch + 1:>3}  loss {bar.mean_loss:.4f}  dev {cfg.monitor} {scores[cfg.monitor]:.4f}"
                       f"{mark}  {bar.tokens_per_s:,.0f} tok/s  {bar.elapsed:.1f}s")
        if out_of_time or late:
            self.out.print(f"time budget of {cfg.max_minutes:g} minutes spent: stopped after {state.step} steps "
                           f"(epoch {epoch + 1}, batch {state.batch_in_epoch} of {len(batches)}); --resume continues")
            return True
        if cfg.patience is not None and state.bad_epochs >= cfg.patience:
            self.out.print(f"early stop: no dev improvement in {cfg.patience} epochs (best epoch {state.best_epoch})")
            return True
        return False


def keep_epoch(out_dir: Path, epoch: int, keep: int, model: nn.Module, model_config: dict, task: Task,
               recipe: Recipe) -> None:
    """Save the model as it ends ``epoch`` to ``out_dir/epochs/epoch-NNN`` (a whole model directory) and delete
    the ones before the last ``keep``: the inputs of checkpoint averaging (``seqlab average``)."""
    artifact.save(out_dir / EPOCHS / f"epoch-{epoch:03d}", model, model_config, task.name, recipe.to_dict(),
                  task.files())
    for old in kept_epochs(out_dir)[:-keep]:
        shutil.rmtree(old)


def kept_epochs(out_dir: str | Path) -> list[Path]:
    """The epoch models a run kept, oldest first (by epoch number: epoch-1000 follows epoch-999)."""
    found = [p for p in (Path(out_dir) / EPOCHS).glob("epoch-*") if p.name[len("epoch-"):].isdigit()]
    return sorted(found, key=lambda p: int(p.name[len("epoch-"):]))


def describe(state: LoopState) -> dict[str, Any]:
    data = asdict(state)
    data.pop("history")
    return data
