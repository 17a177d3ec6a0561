"""Seq2seq decoding speed: greedy and beam-5 search, batched (length-bucketed batches, beams of all rows in
one tensor) against a per-sentence loop, the same trained model and test sources, side by side in one run;
sentences/s, the ratio, and how many outputs agree between the two.

    SEQLAB_DATA_DIR=../shared/datasets python benchmarks/decoding.py runs/results/g2p-cmudict-bilstm-attn
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
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runtime.tune_allocator()
    threads = runtime.set_threads(None)
    art, task = load_task(args.model_dir)
    cfg = from_dict(DataConfig, art.recipe["data"], "data", args.model_dir)
    examples = type(task).load_split(cfg, "test")
    seen, unique = set(), []
    for ex in examples:  # G2P test sets repeat a word once per pronunciation
        if ex.text not in seen:
            seen.add(ex.text)
            unique.append(ex)
    split = task.encode(unique[: args.sentences])
    rows = {}
    for beam in (1, 5):
        def batched():
            return task.predict_split(art.model, split, args.batch_size, beam)

        def one_by_one():
            return task.predict_split(art.model, split, 1, beam)

        a, b = batched(), one_by_one()
        agree = sum(x == y for x, y in zip(a, b)) / len(a)
        times = {"batched": [], "per sentence": []}
        for _ in range(args.repeats):
            for name, fn in (("batched", batched), ("per sentence", one_by_one)):
                t0 = time.perf_counter()
                with torch.no_grad():
                    fn()
                times[name].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) for k, v in times.items()}
        rows[f"beam {beam}"] = {"batched_sentences_per_s": len(split) / med["batched"],
                                "per_sentence_sentences_per_s": len(split) / med["per sentence"],
                                "speedup": med["per sentence"] / med["batched"], "agreement": agree}
    print(f"{args.model_dir}: {len(split)} test sources, batch {args.batch_size}, {threads} threads, "
          f"median of {args.repeats}")
    for name, r in rows.items():
        print(f"  {name}: batched {r['batched_sentences_per_s']:8,.0f} sent/s   per sentence "
              f"{r['per_sentence_sentences_per_s']:7,.0f} sent/s   {r['speedup']:.1f}x   outputs agree {r['agreement']:.1%}")
    print(json.dumps({"benchmark": "decoding", "rows": rows, "threads": threads, "sentences": len(split)}))


if __name__ == "__main__":
    main()
