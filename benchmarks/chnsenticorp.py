"""ChnSentiCorp, characters against jieba words: each recipe × seeds 1–3, two runs at a time with one thread each,
then a table of the 3-seed means (test accuracy with its spread, vocabulary, mean tokens per review, training
tokens/s and seconds) for RESULTS.md.

    SEQLAB_DATA_DIR=../shared/datasets python benchmarks/chnsenticorp.py --json runs/results/chnsenticorp.json

``--reuse`` re-reads finished runs instead of training them again.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from seqlab import load_recipe
from seqlab.data.datasets import get_spec, load_splits
from seqlab.data.download import locate, sha256_of
from seqlab.data.tokenizers import Tokenizer

RECIPES = ["chnsenticorp-bilstm", "chnsenticorp-bilstm-jieba", "chnsenticorp-textcnn", "chnsenticorp-textcnn-jieba",
           "chnsenticorp-bow-jieba"]
ROOT = Path(__file__).resolve().parent.parent


def run(recipe: str, seed: int, out: Path, reuse: bool) -> dict:
    run_dir = out / f"{recipe}-seed{seed}"
    if not (reuse and (run_dir / "results.json").is_file()):
        cmd = [str(Path(sys.executable).parent / "seqlab"), "train", str(ROOT / "recipes" / f"{recipe}.yaml"),
               "--out", str(run_dir), "--overwrite", "--no-progress", "--set", f"train.seed={seed}", "--set", "train.threads=1"]
        print("$", " ".join(cmd[1:]), flush=True)
        log = (out / f"{recipe}-seed{seed}.log").open("w")
        subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=True)
    return json.loads((run_dir / "results.json").read_text())


def tokens_per_review(recipe: str) -> float:
    data = load_recipe(ROOT / "recipes" / f"{recipe}.yaml").data
    tokenizer = Tokenizer.from_config(data.tokenizer, data.lowercase, data.user_dict)
    train = load_splits("chnsenticorp", data).train
    return statistics.fmean(len(tokenizer(ex.text)) for ex in train)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipes", nargs="+", default=RECIPES)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--out", type=Path, default=ROOT / "runs" / "results" / "chnsenticorp")
    p.add_argument("--json", type=Path, help="write the table and every run's figures here")
    p.add_argument("--reuse", action="store_true", help="re-read finished runs")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    jobs = [(r, s) for r in args.recipes for s in args.seeds]
    with ThreadPoolExecutor(2) as pool:  # two runs at a time, one thread each (2 cores)
        results = dict(zip(jobs, pool.map(lambda job: run(*job, args.out, args.reuse), jobs)))
    rows = []
    for recipe in args.recipes:
        runs = [results[(recipe, s)] for s in args.seeds]
        accuracy = [100 * r["test"]["accuracy"] for r in runs]
        speed = [r["training"].get("train_tokens_per_s") for r in runs]
        rows.append({
            "recipe": recipe, "tokenizer": load_recipe(ROOT / "recipes" / f"{recipe}.yaml").data.tokenizer,
            "test_accuracy": accuracy, "mean": statistics.fmean(accuracy), "stdev": statistics.stdev(accuracy),
            "dev_accuracy": [100 * r["dev"]["accuracy"] for r in runs], "vocabulary": runs[0]["vocab_size"],
            "tokens_per_review": tokens_per_review(recipe),
            "train_tokens_per_s": statistics.fmean(speed) if all(speed) else None,
            "train_seconds": statistics.fmean(r["training"]["train_seconds"] for r in runs),
            "wall_seconds": [r["wall_seconds"] for r in runs]})
    folder = locate(get_spec("chnsenticorp"), download=False)
    report = {"rows": rows, "seeds": args.seeds, "threads": 1, "concurrent_runs": 2, "date": time.strftime("%Y-%m-%d"),
              "elapsed_seconds": time.time() - started,
              "data_sha256": {f.name: sha256_of(folder / f.name) for f in get_spec("chnsenticorp").files}}
    print("| recipe | tokens | vocabulary | tokens / review | train tokens/s | train s | test accuracy (3 seeds) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        speed = f"{r['train_tokens_per_s']:,.0f}" if r["train_tokens_per_s"] else "—"
        print(f"| `{r['recipe']}` | {r['tokenizer']} | {r['vocabulary']:,} | {r['tokens_per_review']:.1f} | {speed} | "
              f"{r['train_seconds']:.0f} | **{r['mean']:.2f}** ± {r['stdev']:.2f} "
              f"({', '.join(f'{a:.2f}' for a in r['test_accuracy'])}) |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
