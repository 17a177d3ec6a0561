"""Seeding, threads and the process environment: the only module that reads ``os.environ``.

Environment variables:

* ``SEQLAB_DATA_DIR`` — offline root holding dataset folders (tests and benchmarks point it at
  ``../shared/datasets``).
* ``SEQLAB_CACHE_DIR`` — where downloads go (default ``~/.cache/seqlab``).
* ``SEQLAB_OFFLINE=1`` — never download; fail with a message naming the missing file instead.
* ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE`` (set by ``torchrun``) and
  ``SEQLAB_DIST_TIMEOUT`` (seconds a collective may wait, default 600), ``TORCHELASTIC_ERROR_FILE`` — data-parallel
  training.
* ``SEQLAB_THREADS`` — torch threads when a recipe leaves ``train.threads`` unset (default: all cores,
  shared with other seqlab runs by ``seqlab.cotenancy``, which also reads ``OMP_WAIT_POLICY``,
  ``SEQLAB_COTENANCY`` and ``SEQLAB_RUN_REGISTRY``).

This module imports nothing from seqlab.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import random
import time
from pathlib import Path

import numpy as np
import torch


def data_dir() -> Path | None:
    """The offline dataset root, or None when unset or absent."""
    value = os.environ.get("SEQLAB_DATA_DIR")
    if value and Path(value).is_dir():
        return Path(value)
    return None


def cache_dir() -> Path:
    return Path(os.environ.get("SEQLAB_CACHE_DIR") or Path.home() / ".cache" / "seqlab")


def offline() -> bool:
    return os.environ.get("SEQLAB_OFFLINE", "") not in ("", "0")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch's global generator (dropout draws from it)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def distributed_env() -> dict[str, int] | None:
    """rank, world, local_rank, local_world and timeout (s) when launched by torchrun with more than one process."""
    world = int(os.environ.get("WORLD_SIZE") or 1)
    if world <= 1:
        return None
    rank = int(os.environ.get("RANK") or 0)
    return {"rank": rank, "world": world, "local_rank": int(os.environ.get("LOCAL_RANK") or rank),
            "local_world": int(os.environ.get("LOCAL_WORLD_SIZE") or world),
            "timeout": int(float(os.environ.get("SEQLAB_DIST_TIMEOUT") or 600))}


def report_failure(message: str) -> None:
    """Under torchrun, leave a failed rank's one-line ``message`` in the error file it reads back
    (``TORCHELASTIC_ERROR_FILE``; its ``ProcessFailure.message``); nothing otherwise."""
    path = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if path:
        try:
            Path(path).write_text(json.dumps({"message": message, "timestamp": int(time.time())}), encoding="utf-8")
        except OSError:
            pass


def user_threads(threads: int | None) -> int | None:
    """The thread count the user fixed: ``threads`` (a recipe's ``train.threads``), else ``SEQLAB_THREADS``."""
    return threads or int(os.environ.get("SEQLAB_THREADS") or 0) or None


DEVICES = ("auto", "cpu", "cuda", "mps")


def device(name: str = "auto") -> torch.device:
    """The torch device for ``train.device`` / ``--device``: ``auto`` takes CUDA, then Apple's MPS, then the CPU;
    a device this machine lacks is refused in one line. (Models and decoding create their tensors on their
    inputs' device; CUDA and MPS were not available where seqlab's tests ran, so only the CPU is tested.)"""
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps is not None and mps.is_available())
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device cuda: not available here (torch.cuda.is_available() is False: no GPU, or a CPU build "
                         "of torch); use --device cpu")
    if name == "mps" and not has_mps:
        raise ValueError("device mps: not available here (Apple silicon with torch's MPS backend only); use --device cpu")
    if name not in DEVICES:
        raise ValueError(f"device {name!r}: unknown (known: {', '.join(DEVICES)})")
    return torch.device(name)


def cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def set_threads(threads: int | None) -> int:
    """Set torch's intra-op threads (None = ``SEQLAB_THREADS``, else the number of cores); return the number in force."""
    threads = user_threads(threads) or cores()
    torch.set_num_threads(max(1, int(threads)))
    return torch.get_num_threads()


def tune_allocator() -> bool:
    """Keep freed memory in the heap instead of returning it to the OS after every step.

    glibc's default gives every large activation its own ``mmap`` and unmaps it on free, so each
    training step page-faults its buffers in again (measured ≈1.45× slower LSTM training on this
    machine's CPU). ``mallopt`` at start-up raises the trim threshold and turns ``mmap`` off for heap
    allocations (``M_MMAP_MAX = 0``), the effect of ``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_``
    set very high: raising ``M_MMAP_THRESHOLD`` alone stops at glibc's 32 MB cap, and buffers above it (a
    T = 200 recurrent layer's activations and gradients) kept page-faulting. The price is memory: the heap
    grows to hold those buffers and keeps them (benchmarks/allocator.py: an LSTM at T = 200 trains 1.45×
    faster and holds 575 MB instead of 323 MB). ``SEQLAB_NO_ALLOCATOR_TUNING=1`` opts out. Returns False off
    glibc.
    """
    if os.environ.get("SEQLAB_NO_ALLOCATOR_TUNING"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold, m_mmap_max = -1, -3, -4
    ok_mmap = libc.mallopt(m_mmap_threshold, 32 * 1024 * 1024)  # glibc's maximum on 64-bit
    ok_mmap = libc.mallopt(m_mmap_max, 0) and ok_mmap  # and no mmap at all above it
    ok_trim = libc.mallopt(m_trim_threshold, 2**31 - 1)
    return bool(ok_mmap and ok_trim)


def progress(items, total: int | None, what: str):
    """``items``, with a transient progress bar on a terminal (stderr) for steps that take a while — evaluation of
    a language model, beam search over a test split. ``SEQLAB_PROGRESS=0`` turns bars off, ``=1`` forces them
    (logs and ``--json`` runs are not terminals, so they stay quiet)."""
    import sys

    setting = os.environ.get("SEQLAB_PROGRESS")
    if setting == "0" or (setting != "1" and not sys.stderr.isatty()):
        yield from items
        return
    from rich.console import Console
    from rich.errors import LiveError
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=Console(stderr=True, force_terminal=setting == "1"), transient=True)
    try:
        bar.start()
    except LiveError:  # another bar is showing (a training epoch): no second one
        yield from items
        return
    try:
        task = bar.add_task(what, total=total)
        for item in items:
            yield item
            bar.advance(task)
    finally:
        bar.stop()


@contextlib.contextmanager
def working(what: str):
    """A transient spinner with the elapsed time on a terminal (stderr) around a step that reports no progress of
    its own (gensim's training, its analogy evaluation); quiet in logs, like ``progress``."""
    import sys

    setting = os.environ.get("SEQLAB_PROGRESS")
    if setting == "0" or (setting != "1" and not sys.stderr.isatty()):
        yield
        return
    from rich.console import Console
    from rich.errors import LiveError
    from rich.progress import Progress, SpinnerColumn, TimeElapsedColumn

    spinner = Progress(SpinnerColumn(), "[progress.description]{task.description}", TimeElapsedColumn(),
                       console=Console(stderr=True, force_terminal=setting == "1"), transient=True)
    try:
        spinner.start()
    except LiveError:
        yield
        return
    try:
        spinner.add_task(what, total=None)
        yield
    finally:
        spinner.stop()
