"""The Transformer decoder's key/value cache against re-reading the whole prefix at every step (``kv_cache:
false``, what each step did before): greedy and beam-5 decoding of the same test sources with the same trained
model, side by side in one run; sentences/s (median of ``--repeats``), the speed-up and how many outputs agree.

    SEQLAB_DATA_DIR=../shared/datasets python benchmarks/transformer_cache.py runs/g2p-transformer --sentences 500
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from seqlab import runtime
from seqlab.config import from_dict
from seqlab.tasks import load_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir")
    parser.add_argument("--sentences", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", help="write the rows as JSON here too")
    args = parser.parse_args()
    runtime.tune_allocator()
    threads = runtime.set_threads(None)
    art, task = load_task(args.model_dir)
    if art.model_config["name"] != "transformer":
        raise SystemExit(f"{args.model_dir}: a {art.model_config['name']} model, not a Transformer")
    cfg = from_dict(type(task).data_config, art.recipe["data"], "data", args.model_dir, lenient=True)
    seen, sources = set(), []
    for ex in type(task).load_split(cfg, "test"):  # G2P test sets repeat a word once per pronunciation
        if ex.text not in seen:
            seen.add(ex.text)
            sources.append(ex)
    split = task.encode(sources[: args.sentences])
    rows = []
    for beam in (1, 5):
        outputs, speed = {}, {}
        for cached in (True, False):
            art.model.cfg.kv_cache = cached
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                outputs[cached] = task.predict_split(art.model, split, args.batch_size, beam)
                times.append(time.perf_counter() - t0)
            speed[cached] = len(split) / statistics.median(times)
        same = sum(a == b for a, b in zip(outputs[True], outputs[False])) / len(split)
        rows.append({"beam": beam, "cached_per_s": speed[True], "reread_per_s": speed[False],
                     "speedup": speed[True] / speed[False], "same_output": same})
        print(json.dumps(rows[-1]), flush=True)
    print(f"\n{args.model_dir}: {len(split)} test sources, batches of {args.batch_size}, {threads} threads")
    print(f"{'decoding':<10} {'cached /s':>10} {'re-read /s':>11} {'speed-up':>9} {'same output':>12}")
    for r in rows:
        print(f"{'greedy' if r['beam'] == 1 else 'beam ' + str(r['beam']):<10} {r['cached_per_s']:>10.1f} "
              f"{r['reread_per_s']:>11.1f} {r['speedup']:>8.2f}× {100 * r['same_output']:>11.1f}%")
    if args.out:
        Path(args.out).write_text(json.dumps({"model": args.model_dir, "rows": rows, "threads": threads,
                                              "sentences": len(split), "date": time.strftime("%Y-%m-%d"),
                                              "machine": f"{platform.machine()} {os.cpu_count()} cores"}, indent=2))


if __name__ == "__main__":
    main()
