"""Two seqlab trainings on one machine: one run alone, then two identical runs started together.

For each workload (the quickstart BiLSTM on MR, a small word-level LSTM language model on tiny Shakespeare;
both ship with seqlab, so no data folder is needed) and each behaviour:

* ``before``: ``SEQLAB_COTENANCY=0``, seqlab as it was: all cores, OpenMP's default (active) waiting;
* ``adaptive``: the default now (``seqlab.cotenancy``): wait policy chosen at start-up, threads shared
  while training;
* ``1 thread``: ``SEQLAB_THREADS=1`` for reference, what a user could do by hand.

Each run is ``python -m seqlab train`` bounded by ``train.max_minutes``; its training tokens/s is read from
its results.json. "together / alone" is the sum of the two runs' tokens/s over the same behaviour's lone
run; "vs before" compares with ``before``'s lone run, the target's reference.

    python benchmarks/cotenancy.py                    # ≈ 20 minutes: 2 workloads × 3 behaviours × 2 phases × 1 min + evaluation
    python benchmarks/cotenancy.py --seconds 30 --workloads bilstm --behaviours before adaptive
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import yaml

WORKLOADS = {
    "bilstm": {  # the quickstart recipe: BiLSTM 128, MR, batch 32, Adam
        "builtin": "quickstart",
        "overrides": [],
    },
    "lm": {  # the language model: 2 × 256 LSTM, word level, batch 32 × 35, Adam
        "recipe": {
            "task": "language_model",
            "data": {"dataset": "tinyshakespeare", "tokenizer": "basic_english", "bptt": 35},
            "model": {"name": "rnn_lm", "cell": "lstm", "embed_dim": 256, "hidden_size": 256, "num_layers": 2,
                      "dropout": 0.2},
            "train": {"epochs": 50, "batch_size": 32, "eval_batch_size": 32, "optimizer": "adam", "lr": 0.002,
                      "clip_norm": 0.25, "monitor": "perplexity", "monitor_mode": "min", "patience": None,
                      "log_every": 0},
        },
        "overrides": [],
    },
}
BEHAVIOURS = {
    "before": {"SEQLAB_COTENANCY": "0"},
    "adaptive": {},
    "1 thread": {"SEQLAB_THREADS": "1"},
}


def command(workload: str, out_dir: Path, seconds: float, work: Path) -> list[str]:
    spec = WORKLOADS[workload]
    budget = [f"train.max_minutes={seconds / 60:.4f}", *spec["overrides"]]
    if "builtin" in spec:
        args = ["quickstart", "--out", str(out_dir)]
    else:
        recipe = work / f"{workload}.yaml"
        recipe.write_text(yaml.safe_dump(spec["recipe"], sort_keys=False), encoding="utf-8")
        args = ["train", str(recipe), "--out", str(out_dir), "--overwrite"]
    return [sys.executable, "-m", "seqlab", *args, "--no-progress", *[x for b in budget for x in ("--set", b)]]


def launch(workload: str, behaviour: str, out_dir: Path, seconds: float, work: Path, registry: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "SEQLAB_THREADS", "SEQLAB_COTENANCY")}
    env.update(BEHAVIOURS[behaviour], SEQLAB_RUN_REGISTRY=str(registry))
    log = open(out_dir.with_suffix(".log"), "w", encoding="utf-8")
    return subprocess.Popen(command(workload, out_dir, seconds, work), env=env, stdout=log, stderr=subprocess.STDOUT)


def tokens_per_s(out_dir: Path, proc: subprocess.Popen) -> tuple[float, dict | None]:
    if proc.wait() != 0:
        raise SystemExit(f"{out_dir}: run failed, see {out_dir.with_suffix('.log')}")
    results = json.loads((out_dir / "results.json").read_text(encoding="utf-8"))
    return results["training"]["train_tokens_per_s"], results.get("cotenancy")


def measure(workload: str, behaviour: str, seconds: float, work: Path) -> dict:
    registry = work / "registry"  # a private registry: other seqlab work on this machine does not interfere
    tag = f"{workload}-{behaviour.replace(' ', '')}"
    alone_dir = work / f"{tag}-alone"
    alone, alone_info = tokens_per_s(alone_dir, launch(workload, behaviour, alone_dir, seconds, work, registry))
    dirs = [work / f"{tag}-pair{i}" for i in (1, 2)]
    procs = [launch(workload, behaviour, d, seconds, work, registry) for d in dirs]
    pair = [tokens_per_s(d, p) for d, p in zip(dirs, procs)]
    return {"alone": alone, "pair": [p[0] for p in pair], "alone_cotenancy": alone_info,
            "pair_cotenancy": [p[1] for p in pair]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="training time of each run (default 60)")
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    parser.add_argument("--behaviours", nargs="+", default=list(BEHAVIOURS), choices=list(BEHAVIOURS))
    parser.add_argument("--work", default="runs/cotenancy", help="run directories and logs (default runs/cotenancy)")
    parser.add_argument("--json", help="also write the table as JSON here")
    args = parser.parse_args()
    rows = []
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if True:
        for workload in args.workloads:
            reference = None
            for behaviour in args.behaviours:
                m = measure(workload, behaviour, args.seconds, work)
                reference = reference if reference is not None or behaviour != "before" else m["alone"]
                row = {"workload": workload, "behaviour": behaviour, **m, "together_over_alone": sum(m["pair"]) / m["alone"],
                       "together_over_before_alone": sum(m["pair"]) / reference if reference else None,
                       "alone_over_before_alone": m["alone"] / reference if reference else None}
                rows.append(row)
                print(f"{workload:<7} {behaviour:<9} alone {m['alone']:>9,.0f} tok/s   two at once "
                      f"{m['pair'][0]:>9,.0f} + {m['pair'][1]:>9,.0f}   together/alone {row['together_over_alone']:.2f}×"
                      + (f"   vs before: alone {row['alone_over_before_alone']:.2f}×, together "
                         f"{row['together_over_before_alone']:.2f}×" if reference else ""), flush=True)
    print(f"\n{platform.machine()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}, {args.seconds:g} s per run")
    print("| workload | behaviour | one alone (tok/s) | two at once, each | together / its alone | alone / before's alone | together / before's alone |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        ref = lambda x: f"{x:.2f}×" if x is not None else "–"
        print(f"| {r['workload']} | {r['behaviour']} | {r['alone']:,.0f} | {r['pair'][0]:,.0f} and {r['pair'][1]:,.0f} | "
              f"{r['together_over_alone']:.2f}× | {ref(r['alone_over_before_alone'])} | {ref(r['together_over_before_alone'])} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
