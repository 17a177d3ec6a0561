"""seqlab.cotenancy: the OpenMP waiting policy chosen before torch loads, the run registry, the thread governor.

The start-up tests run a fresh interpreter and read what libgomp itself took: with ``OMP_DISPLAY_ENV=VERBOSE``
it prints its settings when torch loads it, and ``GOMP_SPINCOUNT`` is 0 for passive waiting, 300000 for
its default and 3·10¹⁰ for an explicit ``OMP_WAIT_POLICY=ACTIVE``.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seqlab import cotenancy

PROBE = "import sys, seqlab; loaded = 'torch' in sys.modules; import torch; torch.ones(1); " \
        "print(seqlab.WAIT_POLICY.value, seqlab.WAIT_POLICY.source, loaded)"


class Holder:
    """Another "seqlab run": a registry lock file held by an open file description of this process."""

    def __init__(self, registry: Path, pid: int, record: dict | None = None):
        registry.mkdir(parents=True, exist_ok=True)
        self.path = registry / f"{pid}.lock"
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT)
        fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(self.fd, json.dumps({"pid": pid, **(record or {})}).encode())

    def release(self) -> None:
        os.close(self.fd)


@pytest.fixture
def registry(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "registry"
    monkeypatch.setenv("SEQLAB_RUN_REGISTRY", str(folder))
    monkeypatch.delenv("SEQLAB_COTENANCY", raising=False)
    return folder


def start(registry: Path, **env) -> tuple[str, str]:
    """A fresh interpreter that imports seqlab, then torch: (our choice, what libgomp took)."""
    environ = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "SEQLAB_AUTO_OMP_WAIT_POLICY")}
    environ.update(SEQLAB_RUN_REGISTRY=str(registry), OMP_DISPLAY_ENV="VERBOSE", **env)
    done = subprocess.run([sys.executable, "-c", PROBE], env=environ, capture_output=True, text=True, check=True)
    spin = next(line.split("=")[1].strip(" '") for line in done.stderr.splitlines() if "GOMP_SPINCOUNT" in line)
    return done.stdout.split()[-3:], spin


def test_busy_machine_gets_passive_waiting_before_torch_loads(registry):
    other = Holder(registry, 999_999_001)
    try:
        (value, source, torch_was_loaded), spin = start(registry)
    finally:
        other.release()
    assert (value, source, torch_was_loaded) == ("PASSIVE", "seqlab", "False")
    assert spin == "0"  # libgomp itself read PASSIVE: its workers sleep instead of spinning


def test_idle_machine_keeps_openmp_default(registry, monkeypatch):
    # a load average above the cores would also count as busy (the test suite itself loads the machine):
    # raise that threshold so the check is about the registry alone
    (value, source, _), spin = start(registry, SEQLAB_BUSY_LOAD="1000")
    assert source == "default" and value == "None" and spin == "300000"


@pytest.mark.parametrize("policy, spin", [("ACTIVE", "30000000000"), ("PASSIVE", "0")])
def test_user_wait_policy_is_never_overridden(registry, policy, spin):
    other = Holder(registry, 999_999_002)
    try:
        (value, source, _), took = start(registry, OMP_WAIT_POLICY=policy)
    finally:
        other.release()
    assert (value, source, took) == (policy, "user", spin)


def test_inherited_choice_is_made_afresh(registry):
    """A child of a seqlab process inherits our PASSIVE with its mark; on an idle machine it goes back to the default."""
    (value, source, _), spin = start(registry, OMP_WAIT_POLICY="PASSIVE", SEQLAB_AUTO_OMP_WAIT_POLICY="PASSIVE",
                                     SEQLAB_BUSY_LOAD="1000")
    assert (value, source, spin) == ("None", "default", "300000")


def test_choice_rules_without_a_process():
    env = {}
    assert cotenancy.choose_wait_policy(env, torch_loaded=False, others=0, load=3.0, n_cores=2, busy=1.9).value == "PASSIVE"
    assert env["OMP_WAIT_POLICY"] == "PASSIVE"
    env = {}  # a high load average that the CPU in use now does not confirm: the last minute's, not now's
    choice = cotenancy.choose_wait_policy(env, torch_loaded=False, others=0, load=3.17, n_cores=2, busy=0.1)
    assert choice.value is None and "last minute" in choice.reason and env == {}
    env = {}
    assert cotenancy.choose_wait_policy(env, torch_loaded=False, others=0, load=1.2, n_cores=2).value is None
    assert env == {}
    assert cotenancy.choose_wait_policy({}, torch_loaded=True, others=3, load=9, n_cores=2).source == "too late"
    assert cotenancy.choose_wait_policy({"SEQLAB_COTENANCY": "0"}, torch_loaded=False, others=3, load=9).value is None


def test_registry_counts_live_runs_and_sweeps_dead_ones(registry):
    live = Holder(registry, 999_999_003, {"recipe": "a.yaml"})
    dead = Holder(registry, 999_999_004)
    dead.release()  # as if killed: the kernel dropped its lock, the file stays
    try:
        found = cotenancy.other_runs(os.getpid())
        assert [r["recipe"] for r in found] == ["a.yaml"]
        assert not (registry / "999999004.lock").exists() and (registry / "999999003.lock").exists()
    finally:
        live.release()
    assert cotenancy.other_runs(os.getpid()) == []


def test_registration_is_visible_to_others_and_removed_on_close(registry):
    reg = cotenancy.Registration({"recipe": "mine"})
    try:
        assert [r["recipe"] for r in cotenancy.other_runs(exclude_pid=None)] == ["mine"]
        assert cotenancy.other_runs(exclude_pid=os.getpid()) == []
    finally:
        reg.close()
    assert cotenancy.other_runs(exclude_pid=None) == [] and not any(registry.glob("*.lock"))


class FakeSampler:
    def __init__(self):
        self.busy = 0.0

    def others_busy(self):
        return self.busy


def governor(monkeypatch, n_cores: int, **kwargs) -> tuple[cotenancy.ThreadGovernor, list[int], FakeSampler]:
    monkeypatch.setattr(cotenancy, "cores", lambda: n_cores)
    calls: list[int] = []
    gov = cotenancy.ThreadGovernor(calls.append, n_cores, interval=0.0, **kwargs)
    sampler = FakeSampler()
    gov._sampler = sampler
    return gov, calls, sampler


def test_run_gives_way_to_a_second_and_takes_its_cores_back(registry, monkeypatch):
    gov, calls, sampler = governor(monkeypatch, 2)
    try:
        assert gov.poll() is None and gov.threads == 2 and calls == []  # alone
        other = Holder(registry, 999_999_005)
        sampler.busy = 1.0
        assert "threads 2 → 1" in gov.poll() and calls == [1]
        other.release()
        sampler.busy = 0.05
        assert "threads 1 → 2" in gov.poll() and calls == [1, 2]
        assert [c["threads"] for c in gov.summary()["changes"]] == [1, 2]
    finally:
        gov.close()


def test_busy_cores_outside_seqlab_count_too(registry, monkeypatch):
    gov, calls, sampler = governor(monkeypatch, 8)
    try:
        sampler.busy = 5.8  # a compile job on 6 of 8 cores
        gov.poll()
        assert gov.threads == 2
        Holder(registry, 999_999_006)
        sampler.busy = 6.0
        gov.poll()
        assert gov.threads == 2  # min(8 // 2, 8 - 6)
    finally:
        gov.close()


def test_second_run_starts_at_its_share(registry, monkeypatch):
    other = Holder(registry, 999_999_007)
    try:
        gov, calls, _ = governor(monkeypatch, 4)
        assert gov.threads == 2 and calls == [2]
        gov.close()
    finally:
        other.release()


def test_user_threads_are_never_changed(registry, monkeypatch):
    other = Holder(registry, 999_999_008)
    try:
        gov, calls, sampler = governor(monkeypatch, 2, fixed=True)
        sampler.busy = 2.0
        assert gov.poll() is None and gov.threads == 2 and calls == []
        assert gov.summary()["adaptive"] is False
        gov.close()
    finally:
        other.release()


def test_disabled_by_environment(registry, monkeypatch):
    monkeypatch.setenv("SEQLAB_COTENANCY", "0")
    other = Holder(registry, 999_999_009)
    try:
        gov, calls, sampler = governor(monkeypatch, 2)
        sampler.busy = 2.0
        assert gov.poll() is None and calls == []
        gov.close()
    finally:
        other.release()


def test_training_records_its_choice(registry, write_recipe, tmp_path, monkeypatch):
    from seqlab.tasks import load_recipe
    from seqlab.training.run import train

    monkeypatch.delenv("SEQLAB_THREADS", raising=False)
    other = Holder(registry, 999_999_010)
    try:
        results = train(load_recipe(write_recipe(epochs=1)), tmp_path / "run", progress=False)
    finally:
        other.release()
    record = results["cotenancy"]
    assert record["adaptive"] is True and record["wait_policy"]["source"] in ("default", "seqlab", "user", "too late")
    if record["cores"] >= 2:  # it started beside another run: half the cores
        assert record["changes"][0]["threads"] == record["cores"] // 2
    assert not any(registry.glob(f"{os.getpid()}.lock"))  # deregistered at the end


def test_a_load_hovering_around_one_core_does_not_flip_the_threads(registry, monkeypatch):
    gov, calls, sampler = governor(monkeypatch, 2)
    try:
        for busy in (0.5, 0.65, 0.4):  # inside the dead band at 2 threads: stay
            sampler.busy = busy
            gov.poll()
        assert calls == []
        sampler.busy = 0.9
        gov.poll()
        for busy in (0.5, 0.35, 0.6):  # inside the dead band at 1 thread: stay
            sampler.busy = busy
            gov.poll()
        assert calls == [1]
        sampler.busy = 0.1
        gov.poll()
        assert calls == [1, 2]
    finally:
        gov.close()
