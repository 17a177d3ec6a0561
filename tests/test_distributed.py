"""Data-parallel training (torch.distributed, gloo, two processes on this machine) against one process.

Exactness: a few steps in float64 (``train.precision: fp64``) with two processes give the one-process weights
within 1e-6 — batches split unevenly between the ranks (7/7, 7/6, and a batch of one example that leaves rank 1
a zero-weighted stand-in), and a language model whose three stream rows split 2/1, so the ranks' token counts
differ. Resume: a two-process run killed (SIGKILL to every process) mid-epoch and resumed equals the
uninterrupted two-process run, dropout included (each rank's RNG state is checkpointed). Failure: a killed rank
ends the job with one line naming it, in bounded time.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from seqlab.data.batching import Shard, bucket_batches, sharded

TIMEOUT = 240  # seconds for a whole two-process run (two torch start-ups on a busy 2-core machine)


def seqlab(*args: str, cwd: Path, **popen) -> subprocess.CompletedProcess:
    env = {**os.environ, "SEQLAB_PROGRESS": "0", "SEQLAB_DIST_TIMEOUT": "60"}
    return subprocess.run([sys.executable, "-m", "seqlab", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT, **popen)


def weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run / "checkpoint" / "model.safetensors"))


def assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], tol: float = 1e-6) -> None:
    assert a.keys() == b.keys()
    worst = max((a[k] - b[k]).abs().max().item() for k in a)
    assert worst < tol, f"weights differ by {worst}"


def classification_data(root: Path, n: int) -> None:
    rng = random.Random(0)
    rows = ["text\tlabel"]
    for _ in range(n):
        label = rng.random() < 0.5
        words = [rng.choice(["good", "great", "fine"] if label else ["bad", "dull", "poor"])]
        words += rng.choices("the a film story is was".split(), k=rng.randint(1, 8))
        rng.shuffle(words)
        rows.append(" ".join(words) + "\t" + ("pos" if label else "neg"))
    (root / "cls.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def recipe(root: Path, name: str, text: str) -> str:
    (root / f"{name}.yaml").write_text(text, encoding="utf-8")
    return f"{name}.yaml"


def test_shards_cover_every_example_once_and_mark_stand_ins():
    lengths = [random.Random(3).randint(1, 9) for _ in range(29)]
    whole = bucket_batches(lengths, 14, torch.Generator().manual_seed(1))
    pieces = []
    for rank in range(2):
        with sharded(rank, 2) as shard:
            pieces.append((bucket_batches(lengths, 14, torch.Generator().manual_seed(1)), shard.stand_ins))
    for position, batch in enumerate(whole):
        (first, _), (second, stand1) = pieces[0], pieces[1]
        assert len(first[position]) >= len(second[position]) >= 1  # every rank takes a step
        if position in stand1:  # the batch of one: rank 1 trains on a stand-in weighted 0
            assert len(batch) == 1 and second[position] == batch
        else:
            assert first[position] + second[position] == batch
    assert Shard().world == 1 and bucket_batches(lengths, 14, torch.Generator().manual_seed(1)) == whole  # unchanged outside


@pytest.mark.parametrize("kind", ["classifier", "language_model"])
def test_two_processes_equal_one_with_the_same_global_batch(tmp_path, kind):
    if kind == "classifier":  # 29 examples, batches of 14: 14, 14 and 1
        classification_data(tmp_path, 29)
        name = recipe(tmp_path, "r", """task: classification
data: {train: cls.tsv, dev: cls.tsv, test: cls.tsv}
model: {name: rnn_classifier, embed_dim: 8, hidden_size: 8, dropout: 0.0, bidirectional: true}
train: {epochs: 1, batch_size: 14, lr: 0.01, threads: 1, log_every: 1, precision: fp64}
""")
    else:  # three stream rows: rank 0 takes two, rank 1 one
        rng = random.Random(1)
        (tmp_path / "lm.txt").write_text("".join(" ".join(rng.choices("to be or not that is".split(), k=8)) + "\n"
                                                 for _ in range(12)), encoding="utf-8")
        name = recipe(tmp_path, "r", """task: language_model
data: {train: lm.txt, dev: lm.txt, test: lm.txt, tokenizer: character, bptt: 20}
model: {name: rnn_lm, embed_dim: 8, hidden_size: 12, num_layers: 1, cell: lstm, tie_weights: false, dropout: 0.0}
train: {epochs: 1, batch_size: 3, lr: 0.01, threads: 1, log_every: 1, precision: fp64, monitor: bpc, monitor_mode: min}
""")
    one = seqlab("train", name, "--out", "one", cwd=tmp_path)
    two = seqlab("train", name, "--out", "two", "--nproc", "2", cwd=tmp_path)
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    assert weights(tmp_path / "two")["embedding.weight" if kind == "language_model" else next(iter(weights(tmp_path / "two")))].dtype == torch.float64
    assert_same(weights(tmp_path / "one"), weights(tmp_path / "two"))
    logged = [[json.loads(line)["loss"] for line in (tmp_path / run / "metrics.jsonl").read_text().splitlines()
               if '"loss"' in line] for run in ("one", "two")]
    assert len(logged[0]) >= 3 and logged[0] == pytest.approx(logged[1], abs=1e-9)  # the global batch's mean loss
    results = json.loads((tmp_path / "two" / "results.json").read_text())
    assert results["world_size"] == 2 and results["backend"] == "gloo"
    assert results["per_rank_batch"] == (7 if kind == "classifier" else [1, 2])  # 14 / 2; 3 rows as 1 and 2


RESUME_RECIPE = """task: classification
data: {train: cls.tsv, dev: cls.tsv, test: cls.tsv}
model: {name: rnn_classifier, embed_dim: 8, hidden_size: 8, dropout: 0.3}
train: {epochs: 2, batch_size: 4, lr: 0.01, threads: 1, log_every: 1, checkpoint_every: 1, patience: null}
"""


def test_a_killed_two_process_run_resumes_to_the_uninterrupted_run(tmp_path):
    classification_data(tmp_path, 400)  # 100 steps per epoch, a checkpoint after each
    name = recipe(tmp_path, "r", RESUME_RECIPE)
    whole = seqlab("train", name, "--out", "whole", "--nproc", "2", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    env = {**os.environ, "SEQLAB_PROGRESS": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "seqlab", "train", name, "--out", "cut", "--nproc", "2"], cwd=tmp_path,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    log = tmp_path / "cut" / "metrics.jsonl"
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        if log.is_file() and log.read_text().count('"step"') >= 30:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # every process of the job at once, as a lost machine would
    proc.wait()
    steps = [json.loads(line)["step"] for line in log.read_text().splitlines() if '"loss"' in line]
    assert 30 <= steps[-1] < 200, f"killed at step {steps[-1]}: not mid-run"
    resumed = seqlab("train", name, "--out", "cut", "--nproc", "2", "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in resumed.stderr
    assert_same(weights(tmp_path / "whole"), weights(tmp_path / "cut"), tol=1e-7)
    lines = [json.loads(x) for x in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines if "loss" in x] == list(range(1, 201))  # no step lost or logged twice


def test_a_killed_rank_ends_the_job_with_one_line_naming_it(tmp_path):
    classification_data(tmp_path, 4000)
    name = recipe(tmp_path, "r", RESUME_RECIPE.replace("epochs: 2", "epochs: 50"))
    proc = subprocess.Popen([sys.executable, "-m", "seqlab", "train", name, "--out", "run", "--nproc", "2"], cwd=tmp_path,
                            env={**os.environ, "SEQLAB_PROGRESS": "0", "SEQLAB_DIST_TIMEOUT": "60"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        log = tmp_path / "run" / "metrics.jsonl"
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and not (log.is_file() and log.read_text().count('"step"') >= 5):
            time.sleep(0.05)
        rank1 = [pid for pid in map(int, Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split())
                 if b"RANK=1\x00" in Path(f"/proc/{pid}/environ").read_bytes()]
        assert rank1, "no rank 1 process found"
        killed = time.monotonic()
        os.kill(rank1[0], signal.SIGKILL)
        _, err = proc.communicate(timeout=90)
        took = time.monotonic() - killed
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 1
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("seqlab train: error: rank 1 of 2 failed "
                                                                            "(killed by SIGKILL)"), err
    assert took < 60, f"the job took {took:.0f} s to stop"
    from seqlab.training import checkpoint  # the last checkpoint stays loadable

    assert checkpoint.load(tmp_path / "run" / "checkpoint").loop.step >= 1
