"""Tagging at inference: sentences tagged in length-bucketed batches against one sentence at a time, the same
trained model, the same test sentences, side by side in one process; tokens/s and the ratio.

    SEQLAB_DATA_DIR=../shared/datasets python benchmarks/tagging_inference.py runs/results/conll2000-bilstm-crf
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from seqlab import runtime
from seqlab.config import DataConfig, from_dict
from seqlab.tasks import load_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--sentences", type=int, default=1000, help="test sentences to tag (default 1000)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runtime.tune_allocator()
    threads = runtime.set_threads(None)
    art, task = load_task(args.model_dir)
    cfg = from_dict(DataConfig, art.recipe["data"], "data", args.model_dir)
    split = task.encode(type(task).load_split(cfg, "test")[: args.sentences])
    tokens = sum(len(s) for s in split.ids)

    def batched():
        return task.predict_split(art.model, split, args.batch_size)

    def one_by_one():
        return task.predict_split(art.model, split, 1)

    assert batched() == one_by_one(), "batched and per-sentence tagging disagree"
    times = {"batched": [], "per sentence": []}
    for _ in range(args.repeats):
        for name, fn in (("batched", batched), ("per sentence", one_by_one)):
            t0 = time.perf_counter()
            with torch.no_grad():
                fn()
            times[name].append(time.perf_counter() - t0)
    rows = {name: {"seconds": statistics.median(t), "tokens_per_s": tokens / statistics.median(t)} for name, t in times.items()}
    ratio = rows["per sentence"]["seconds"] / rows["batched"]["seconds"]
    print(f"{args.model_dir}: {len(split)} test sentences, {tokens} tokens, batch {args.batch_size}, {threads} threads")
    for name, r in rows.items():
        print(f"  {name:<13} {r['seconds']:7.2f} s  {r['tokens_per_s']:10,.0f} tokens/s")
    print(f"  batched / per sentence: {ratio:.1f}x (identical tags)")
    print(json.dumps({"benchmark": "tagging_inference", "rows": rows, "speedup": ratio, "threads": threads}))


if __name__ == "__main__":
    main()
