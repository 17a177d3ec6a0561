"""Data-parallel training on this machine: 1 process × T threads against N processes × T/N threads.

For each recipe (default: the MR BiLSTM and the PTB small LSTM language model), one bounded training run per
layout, the same global batch: ``seqlab train RECIPE --set train.threads=2`` against ``seqlab train RECIPE
--nproc 2 --set train.threads=1`` (gloo), each stopped by ``train.max_minutes``; training tokens/s and seconds
per step come from each run's results.json. Then the all-reduce alone: two gloo processes all-reduce a float32
buffer of the model's parameter count (what DDP sends per step), median of 30; its share of a 2-process step.
Run with the machine otherwise idle.

    python benchmarks/distributed.py                       # ≈ 6 minutes
    python benchmarks/distributed.py --recipes mr-bilstm --minutes 0.5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def train(recipe: str, out: Path, minutes: float, nproc: int, threads: int) -> dict:
    args = [sys.executable, "-m", "seqlab", "train", recipe, "--out", str(out), "--no-progress", "--overwrite",
            "--set", f"train.max_minutes={minutes}", "--set", f"train.threads={threads}", "--set", "train.epochs=1",
            "--set", "train.patience=null"]
    if nproc > 1:
        args += ["--nproc", str(nproc)]
    done = subprocess.run(args, capture_output=True, text=True, env={**os.environ, "SEQLAB_PROGRESS": "0"})
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-2000:]}")
    results = json.loads((out / "results.json").read_text())
    t = results["training"]
    return {"tokens_per_s": t["train_tokens_per_s"], "steps": t["step"], "seconds_per_step": t["train_seconds"] / t["step"],
            "parameters": results["parameters"], "world_size": results.get("world_size", 1)}


def _all_reduce_worker(rank: int, world: int, numel: int, port: int, out: str) -> None:
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    buffer = torch.randn(numel)
    times = []
    for i in range(35):
        dist.barrier()
        t0 = time.perf_counter()
        dist.all_reduce(buffer)
        if i >= 5:
            times.append(time.perf_counter() - t0)
    if rank == 0:
        Path(out).write_text(json.dumps({"median_s": statistics.median(times)}))
    dist.destroy_process_group()


def all_reduce_seconds(numel: int, world: int = 2) -> float:
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = fh.name
    mp.spawn(_all_reduce_worker, args=(world, numel, port, out), nprocs=world, join=True)
    return json.loads(Path(out).read_text())["median_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", nargs="+", default=["mr-bilstm", "ptb-small"])
    parser.add_argument("--minutes", type=float, default=1.0, help="training budget per run (default 1)")
    parser.add_argument("--out", default=str(ROOT / "runs" / "distributed.json"))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    rows = []
    for recipe in args.recipes:
        one = train(recipe, tmp / f"{recipe}-1", args.minutes, 1, 2)
        two = train(recipe, tmp / f"{recipe}-2", args.minutes, 2, 1)
        reduce_s = all_reduce_seconds(one["parameters"])
        row = {"recipe": recipe, "parameters": one["parameters"],
               "one_process_2_threads": one, "two_processes_1_thread": two,
               "ratio": two["tokens_per_s"] / one["tokens_per_s"], "all_reduce_ms": 1000 * reduce_s,
               "all_reduce_share_of_step": reduce_s / two["seconds_per_step"]}
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\n{'recipe':<12} {'params':>10} {'1×2 tok/s':>10} {'2×1 tok/s':>10} {'ratio':>6} {'s/step 1×2':>11} "
          f"{'s/step 2×1':>11} {'all-reduce ms':>14} {'share':>6}")
    for r in rows:
        a, b = r["one_process_2_threads"], r["two_processes_1_thread"]
        print(f"{r['recipe']:<12} {r['parameters']:>10,} {a['tokens_per_s']:>10,.0f} {b['tokens_per_s']:>10,.0f} "
              f"{r['ratio']:>6.2f} {a['seconds_per_step']:>11.4f} {b['seconds_per_step']:>11.4f} "
              f"{r['all_reduce_ms']:>14.2f} {100 * r['all_reduce_share_of_step']:>5.1f}%")
    import torch

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"rows": rows, "minutes": args.minutes, "date": time.strftime("%Y-%m-%d"),
                                          "machine": f"{platform.machine()} {os.cpu_count()} cores",
                                          "torch": torch.__version__}, indent=2))


if __name__ == "__main__":
    main()
