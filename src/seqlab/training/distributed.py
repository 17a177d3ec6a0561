"""Data-parallel training on PyTorch's own engine: one loop (``loop.fit``), many processes.

    torchrun --nproc-per-node N -m seqlab train RECIPE        # or: seqlab train RECIPE --nproc N
    torchrun --nnodes M --node-rank K --nproc-per-node N \\
             --rdzv-backend c10d --rdzv-endpoint HOST:29500 -m seqlab train RECIPE   # M machines

Every process (rank) reads the same data and builds the same model and optimiser; DistributedDataParallel
broadcasts rank 0's initial weights and averages the gradients with an all-reduce during backward (gloo on the
CPU, NCCL on CUDA). ``train.batch_size`` stays the global batch: each rank trains on its contiguous piece of
every batch of the one-process order (``seqlab.data.batching.Shard``), so a recipe means the same at any world
size, and a run may resume at another.

Loss weighting. Rank r's loss is a mean over its n_r terms (examples, or tokens: ``Task.loss_count``). With
N = Σ_r n_r, rank r backpropagates mean_r · n_r · world / N; DDP divides the summed gradients by ``world``, which
leaves Σ_r n_r · ∇mean_r / N — the gradient of the mean over the global batch, however unevenly the tokens fall.
A stand-in example (a rank with no piece of a batch smaller than the world) has n_r = 0. One all-reduce per step
carries (Σ loss · n, N, tokens, out-of-time) so that every rank logs, checks divergence and stops on the same
numbers.

Only rank 0 writes (model/, checkpoint/, metrics.jsonl, results.json) and draws the progress bar. Dev
evaluation runs on rank 0 and its scores are broadcast (JSON, no pickle), so every rank takes the same
early-stopping decision. Checkpoints keep every rank's RNG state; every rank resumes from the checkpoint.
A collective waits at most ``SEQLAB_DIST_TIMEOUT`` seconds (default 600), so a lost rank cannot hang the others
forever; under ``seqlab train --nproc`` a failing rank ends the job with one line naming it (``launch``).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import uuid
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from .. import runtime


def _plain(value):
    """numpy and torch scalars in a metrics dict, as JSON numbers."""
    return value.item() if hasattr(value, "item") else str(value)


class Parallel(DistributedDataParallel):
    """DDP whose attributes fall through to the wrapped model: tasks read ``model.cfg``, ``model.crf``…"""

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.module, name)


@dataclass
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1
    backend: str | None = None

    @property
    def main(self) -> bool:
        return self.rank == 0

    def wrap(self, model: nn.Module) -> nn.Module:
        if self.size == 1:
            return model
        device = next(model.parameters()).device
        return Parallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sums over the ranks (float64)."""
        if self.size == 1:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=self._device())
        dist.all_reduce(t)
        return t.tolist()

    def share(self, value):
        """Rank 0's JSON-serialisable ``value``, on every rank."""
        if self.size == 1:
            return value
        data = torch.tensor(list(json.dumps(value, default=_plain).encode()) if self.main else [], dtype=torch.uint8)
        size = torch.tensor([data.numel()], dtype=torch.int64, device=self._device())
        dist.broadcast(size, 0)
        buffer = data.to(self._device()) if self.main else torch.empty(int(size), dtype=torch.uint8, device=self._device())
        dist.broadcast(buffer, 0)
        return json.loads(bytes(buffer.cpu().tolist()).decode())

    def rng_states(self) -> list[torch.Tensor]:
        """torch's CPU RNG state of every rank (rank order)."""
        state = torch.get_rng_state()
        if self.size == 1:
            return [state]
        local = state.to(torch.int64).to(self._device())
        gathered = [torch.empty_like(local) for _ in range(self.size)]
        dist.all_gather(gathered, local)
        return [g.cpu().to(torch.uint8) for g in gathered]

    def _device(self) -> torch.device:
        return torch.device("cuda", torch.cuda.current_device()) if self.backend == "nccl" else torch.device("cpu")

    def describe(self, batch_size: int) -> dict:
        low, extra = divmod(batch_size, self.size)
        return {"world_size": self.size, "backend": self.backend,
                "per_rank_batch": low if not extra else [low, low + 1]}


def init(device: torch.device) -> World:
    """The process group torchrun described in the environment (a one-process World without it)."""
    env = runtime.distributed_env()
    if env is None:
        return World()
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(env["local_rank"])
        dist.init_process_group(backend, timeout=timedelta(seconds=env["timeout"]))
    return World(env["rank"], env["world"], env["local_rank"], env["local_world"], backend)


def close(world: World) -> None:
    """Leave the process group together: every rank waits at a barrier first, so no rank tears down its gloo
    threads while another still talks to it (a rank that left early was seen aborting at exit under load)."""
    if world.size > 1 and dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()


def launch(nproc: int, argv: list[str]) -> int:
    """``python -m seqlab ARGV`` in ``nproc`` processes on this machine through torch.distributed's launcher (what
    ``torchrun --standalone --nproc-per-node nproc`` does); a failed rank ends the job with one line naming it."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)  # one line of ours instead
    config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=nproc, run_id=str(uuid.uuid4()),
                          rdzv_backend="c10d", rdzv_endpoint="localhost:0", max_restarts=0, monitor_interval=0.2)
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # torchrun's default; seqlab sets torch's threads per process
    try:
        elastic_launch(config, entrypoint=sys.executable)("-m", "seqlab", *argv)
    except ChildFailedError as err:
        # the root cause first: a rank that failed by itself, not one the launcher then stopped with SIGTERM
        rank, failure = min(err.failures.items(), key=lambda kv: (kv[1].exitcode == -signal.SIGTERM, kv[1].timestamp, kv[0]))
        how = f"killed by {failure.signal_name()}" if failure.exitcode < 0 else f"exit code {failure.exitcode}"
        message = failure.message if failure.message and not failure.message.startswith(("To enable", "Signal")) else ""
        print(f"seqlab train: error: rank {rank} of {nproc} failed ({how}){': ' + message if message else ''}; "
              f"the other ranks were stopped", file=sys.stderr)
        return 1
    return 0
