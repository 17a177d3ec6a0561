"""Sharing the machine with other jobs: OpenMP's waiting policy at start-up, threads while training.

Why: torch's CPU kernels run on an OpenMP team (libgomp). Between parallel regions its worker threads
*spin* while they wait. Two seqlab runs of 2 threads each on 2 cores starve each other: a worker that the
scheduler has taken off its core holds up its team's barrier while the other team spins. Measured here, two
MR BiLSTM runs at once trained at 0.015× the speed of one alone. No single fixed setting is right:
passive waiting costs a lone small model ~43%, active waiting ruins two. So seqlab adapts:

* **At start-up, before torch is imported** (``choose_wait_policy``, called from ``seqlab/__init__.py``;
  libgomp reads ``OMP_WAIT_POLICY`` once, when torch loads it): if other seqlab runs are registered, or
  the load average says the cores are busy (above ``SEQLAB_BUSY_LOAD``, default cores − 0.5),
  ``OMP_WAIT_POLICY=PASSIVE`` is set for this process. On an idle
  machine nothing is set and OpenMP keeps its default, active, waiting.
* **While training** (``ThreadGovernor``): every ``interval`` seconds the run counts the live seqlab runs
  in the registry and samples how much CPU other processes use, and sets torch's intra-op threads to its
  fair share: ``min(cores // runs, cores - busy elsewhere)``, at least 1. A run that started alone gives way
  when a second starts, and takes its cores back when the other ends. With at most one thread per core in
  use, spinning no longer steals anyone's core.

The registry is a folder of lock files (``$SEQLAB_RUN_REGISTRY``, default ``<tmp>/seqlab-runs-<uid>``):
each training run holds an exclusive ``flock`` on ``<pid>.lock`` for its lifetime, so a run killed with
SIGKILL drops out at once (the kernel releases its lock) and its file is swept by the next reader.

The user always wins: an explicit ``OMP_WAIT_POLICY`` is never changed, and ``train.threads`` or
``SEQLAB_THREADS`` fix the thread count (the governor then only records). ``SEQLAB_COTENANCY=0`` turns all
of this off (seqlab's behaviour before it existed). Each choice and change is printed in the run's log
and recorded in ``results.json`` (``cotenancy``).

This module imports nothing from seqlab and nothing outside the standard library (it runs before torch).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

try:
    import fcntl
except ImportError:  # not POSIX: no registry, the load average alone decides
    fcntl = None

_AUTO_MARK = "SEQLAB_AUTO_OMP_WAIT_POLICY"  # set beside OMP_WAIT_POLICY when seqlab (not the user) chose it
BUSY_MARGIN = 0.5  # cores: load above ``cores - BUSY_MARGIN`` at start-up counts as a busy machine


def busy_load(n_cores: int) -> float:
    """The load average above which the machine counts as busy at start-up: ``SEQLAB_BUSY_LOAD``, else cores − 0.5."""
    value = os.environ.get("SEQLAB_BUSY_LOAD", "").strip()
    try:
        return float(value) if value else n_cores - BUSY_MARGIN
    except ValueError:
        return n_cores - BUSY_MARGIN


def enabled(environ=None) -> bool:
    return (os.environ if environ is None else environ).get("SEQLAB_COTENANCY", "1").strip().lower() not in ("0", "off", "false", "no")


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def registry_dir() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(os.environ.get("SEQLAB_RUN_REGISTRY") or Path(tempfile.gettempdir()) / f"seqlab-runs-{uid}")


def _lock_is_held(path: Path) -> bool:
    """True when a live process holds ``path``'s flock; a stale file (its process died) is removed."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
    try:  # we got the lock: nobody holds it, the run that wrote it is gone
        path.unlink()
    except OSError:
        pass
    return False


def other_runs(exclude_pid: int | None = None) -> list[dict]:
    """The live seqlab runs in the registry other than ``exclude_pid``: their records (pid, threads, recipe…)."""
    folder = registry_dir()
    if fcntl is None or not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.lock")):
        if path.stem == str(exclude_pid) or not _lock_is_held(path):
            continue
        try:
            found.append(json.loads(path.read_text(encoding="utf-8") or "{}"))
        except (OSError, ValueError):
            found.append({"pid": path.stem})
    return found


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return None


@dataclass
class WaitPolicy:
    """What ``choose_wait_policy`` decided: the value in force (None = OpenMP's default) and why."""

    value: str | None
    source: str  # user | seqlab | default | disabled | too late
    reason: str

    def as_dict(self) -> dict:
        return {"OMP_WAIT_POLICY": self.value or "default (active)", "source": self.source, "reason": self.reason}


def busy_now(seconds: float = 0.1) -> float | None:
    """Cores in use by other processes over the next ``seconds`` (None where /proc/stat is not readable)."""
    sampler = CpuSampler()
    time.sleep(seconds)
    return sampler.others_busy(minimum=seconds / 2)


def choose_wait_policy(environ: dict | None = None, torch_loaded: bool | None = None,
                       others: int | None = None, load: float | None = None, n_cores: int | None = None,
                       busy: float | None = None) -> WaitPolicy:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` in ``environ`` when the machine is busy; leave a user's setting alone.

    Must run before torch is imported: libgomp reads the variable once, when it is loaded. The arguments
    other than ``environ`` exist for tests; by default they are measured.
    """
    import sys

    env = os.environ if environ is None else environ
    user_value = env.get("OMP_WAIT_POLICY")
    if user_value and env.get(_AUTO_MARK) != user_value:
        return WaitPolicy(user_value, "user", "OMP_WAIT_POLICY set in the environment")
    if user_value:  # our own choice, inherited from a parent seqlab process: decide afresh
        del env["OMP_WAIT_POLICY"]
        del env[_AUTO_MARK]
    if not enabled(env):
        return WaitPolicy(None, "disabled", "SEQLAB_COTENANCY=0")
    if torch_loaded if torch_loaded is not None else "torch" in sys.modules:
        return WaitPolicy(None, "too late", "torch was imported before seqlab; OpenMP kept its default")
    n_cores = n_cores or cores()
    others = len(other_runs(os.getpid())) if others is None else others
    load = load_average() if load is None else load
    load_text = f"{load:.2f}" if load is not None else "unknown"
    if others:
        reason = f"{others} other seqlab run{'s' if others > 1 else ''} on this machine"
    elif load is not None and load > busy_load(n_cores):
        busy = busy_now() if busy is None else busy
        if busy is not None and busy <= n_cores - BUSY_MARGIN:
            return WaitPolicy(None, "default", f"load average {load_text} on {n_cores} cores is the last minute's; "
                                               f"{busy:.1f} cores busy now, no other seqlab run")
        reason = f"load average {load_text} on {n_cores} cores" + (f", {busy:.1f} busy now" if busy is not None else "")
    else:
        return WaitPolicy(None, "default", f"machine idle (load average {load_text} on {n_cores} cores, "
                                           f"no other seqlab run)")
    env["OMP_WAIT_POLICY"] = env[_AUTO_MARK] = "PASSIVE"
    return WaitPolicy("PASSIVE", "seqlab", reason)


class Registration:
    """This process's entry in the registry, held (flock) until ``close`` or the process's end."""

    def __init__(self, record: dict):
        self.path = None
        self._fd = None
        if fcntl is None:
            return
        folder = registry_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self.path = folder / f"{os.getpid()}.lock"
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.write(self._fd, json.dumps({"pid": os.getpid(), **record}).encode())
        except OSError:  # an unwritable temp folder must not stop training: run unregistered
            self.close()

    def close(self) -> None:
        if self._fd is not None:
            try:
                self.path.unlink()
            except OSError:
                pass
            os.close(self._fd)
            self._fd = None


class CpuSampler:
    """CPU used by *other* processes since the last sample, in cores: busy time in ``/proc/stat`` minus our own."""

    def __init__(self):
        self._last = self._read()

    @staticmethod
    def _read() -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat", encoding="ascii") as fh:
                fields = [float(x) for x in fh.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        tick = os.sysconf("SC_CLK_TCK")
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
        own = os.times()
        return (sum(fields[:8]) - idle) / tick, own.user + own.system, time.monotonic()

    def others_busy(self, minimum: float = 0.2) -> float | None:
        now = self._read()
        last, self._last = self._last, now
        if now is None or last is None or now[2] - last[2] < minimum:
            return None
        return max(0.0, ((now[0] - last[0]) - (now[1] - last[1])) / (now[2] - last[2]))


@dataclass
class ThreadGovernor:
    """Keeps a training run's torch threads at its fair share of the machine (see the module docstring).

    ``set_threads`` is ``torch.set_num_threads`` in a run (passed in: this module never imports torch).
    ``fixed`` is the user's thread count, which is never changed. ``poll()`` is cheap and is called after
    every training step; it looks at the machine every ``interval`` seconds and returns a message when it
    changed the threads.
    """

    set_threads: Callable[[int], None]
    threads: int
    fixed: bool = False
    interval: float = 2.0
    record: dict = field(default_factory=dict)
    changes: list = field(default_factory=list)

    def __post_init__(self):
        self.cores = cores()
        self.active = enabled() and not self.fixed
        self._registration = Registration({"threads": self.threads, "started": time.time(), **self.record})
        self._sampler = CpuSampler() if self.active else None
        self._next = time.monotonic() + self.interval
        self.others = len(other_runs(os.getpid()))
        if self.active:
            share = self.fair_share(self.others, None)
            if share != self.threads:
                self._apply(share, f"{self.others} other seqlab run(s) at start")

    def fair_share(self, others: int, busy_elsewhere: float | None) -> int:
        """``cores // runs``, lowered while other processes leave no core for a thread, with a dead band.

        With t threads, one is given up when other processes use more than ``cores - t + 0.7`` cores, and one
        is taken back when they use less than ``cores - (t + 1) + 0.3``: a load that hovers around a core's
        worth does not flip the count at every look.
        """
        share = max(1, self.cores // (others + 1))
        if busy_elsewhere is None:
            return share
        threads = min(self.threads, share)
        while threads > 1 and busy_elsewhere > self.cores - threads + 0.7:
            threads -= 1
        while threads < share and busy_elsewhere < self.cores - (threads + 1) + 0.3:
            threads += 1
        return threads

    def _apply(self, threads: int, why: str) -> str:
        before, self.threads = self.threads, threads
        self.set_threads(threads)
        message = f"threads {before} → {threads}: {why}"
        self.changes.append({"time": time.time(), "threads": threads, "reason": why})
        return message

    def poll(self) -> str | None:
        if not self.active or time.monotonic() < self._next:
            return None
        self._next = time.monotonic() + self.interval
        others = len(other_runs(os.getpid()))
        busy = self._sampler.others_busy()
        share = self.fair_share(others, busy)
        if share == self.threads:
            return None
        busy_text = f", other processes busy {busy:.1f} cores" if busy is not None else ""
        return self._apply(share, f"{others} other seqlab run(s){busy_text}")

    def summary(self) -> dict:
        return {"threads_final": self.threads, "adaptive": self.active, "cores": self.cores, "changes": self.changes}

    def close(self) -> None:
        self._registration.close()
