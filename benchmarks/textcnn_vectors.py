"""Kim (2014)'s three uses of pretrained vectors — CNN-static (frozen), CNN-non-static (tuned) and
CNN-multichannel (a frozen and a tuned copy) — on TREC-6 and SST-2, with word2vec vectors trained here on
unlabelled text: IMDb's training reviews (22,500, text only) and WikiText-2's training text (7.7M tokens),
lower-cased and tokenised as the recipes tokenise (``kim``), skip-gram, 300 dimensions. Neither source holds
TREC or SST sentences (MR and SST-1 do: SST was built from MR's snippets, so they are left out).

Each variant is trained with several seeds; the variant with the best mean dev accuracy is chosen, and within it
the seed best on dev (ties: the lower dev loss): the single run the targets table reports. Every run's dev and
test accuracy is printed too, and so are ensembles (``seqlab evaluate --ensemble``: the mean of the members' class
distributions) of each variant's seeds and of all the runs.

    SEQLAB_DATA_DIR=../shared/datasets python benchmarks/textcnn_vectors.py [--seeds 3] [--json OUT]

One thread per run (``SEQLAB_THREADS=1``); about 40 minutes in all (the vectors 8, each run 1–2). The vectors are
trained with one gensim worker (``seqlab embed train``'s default), so the same command gives the same file; its
sha256 is in the JSON. (The figures first recorded in RESULTS used vectors from several workers, which no command
can make again: RESULTS says so.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
VECTORS = "runs/vectors/imdb-wikitext2-sg300.txt"
CORPORA = ["imdb", "wikitext2"]
VARIANTS = {
    "static": ["--set", "train.freeze=[embedding.weight]"],
    "non-static": [],
    "multichannel": ["--set", "model.multichannel=true"],
}


def train_vectors(path: str) -> None:
    if Path(path).exists():
        print(f"vectors: {path} (kept; delete it to train again)")
        return
    subprocess.run([BIN / "seqlab", "embed", "train", *CORPORA, "--tokenizer", "kim", "--lowercase", "--dim", "300",
                    "--out", path], check=True)


def train(dataset: str, variant: str, seed: int, vectors: str, reuse: bool) -> dict:
    out = Path(f"runs/results/{dataset}-textcnn-w2v-{variant}-s{seed}")
    if not (reuse and (out / "results.json").exists()):
        subprocess.run([BIN / "seqlab", "train", f"recipes/{dataset}-textcnn.yaml", "--out", str(out), "--overwrite",
                        "--no-progress", "--set", f"data.vectors={vectors}", "--set", f"train.seed={seed}",
                        *VARIANTS[variant]], check=True, stdout=subprocess.DEVNULL)
    result = json.loads((out / "results.json").read_text())
    return {"dataset": dataset, "variant": variant, "seed": seed, "run": str(out),
            "dev": result["dev"]["accuracy"], "dev_loss": result["dev"]["loss"], "test": result["test"]["accuracy"],
            "seconds": result["wall_seconds"]}


def ensemble(runs: list[dict]) -> dict:
    """Dev and test accuracy of the runs' models as one ensemble."""
    scores = {}
    for split in ("dev", "test"):
        done = subprocess.run([BIN / "seqlab", "evaluate", runs[0]["run"], "--split", split, "--json", "--ensemble",
                               *(r["run"] for r in runs[1:])], check=True, capture_output=True, text=True)
        scores[split] = json.loads(done.stdout.strip().splitlines()[-1])["accuracy"]
    return scores


def choose(runs: list[dict]) -> dict:
    """The best-on-dev seed of the variant with the best mean dev accuracy (a tie on dev accuracy goes to the
    lower dev loss)."""
    by_variant = {v: [r for r in runs if r["variant"] == v] for v in VARIANTS}
    variant = max(by_variant, key=lambda v: statistics.mean(r["dev"] for r in by_variant[v]))
    return max(by_variant[variant], key=lambda r: (r["dev"], -r["dev_loss"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["trec", "sst2"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--vectors", default=VECTORS)
    parser.add_argument("--json", help="write every run and the choice here")
    parser.add_argument("--reuse", action="store_true", help="keep the runs that already have a results.json")
    args = parser.parse_args()
    os.environ.setdefault("SEQLAB_THREADS", "1")
    train_vectors(args.vectors)
    report = {}
    for dataset in args.datasets:
        runs = [train(dataset, v, s, args.vectors, args.reuse) for v in VARIANTS for s in range(1, args.seeds + 1)]
        chosen = choose(runs)
        print(f"\n{dataset}: test / dev accuracy by seed")
        ensembles = {}
        for v in VARIANTS:
            rows = [r for r in runs if r["variant"] == v]
            cells = "  ".join(f"{r['test']:.2%} / {r['dev']:.2%}" for r in rows)
            ensembles[v] = ensemble(rows)
            print(f"  {v:<13} {cells}   mean {statistics.mean(r['test'] for r in rows):.2%} / "
                  f"{statistics.mean(r['dev'] for r in rows):.2%}   ensemble {ensembles[v]['test']:.2%} / "
                  f"{ensembles[v]['dev']:.2%}")
        ensembles["all"] = ensemble(runs)
        print(f"  all {len(runs)} runs as one ensemble: {ensembles['all']['test']:.2%} / {ensembles['all']['dev']:.2%}")
        print(f"  chosen on dev: {chosen['variant']} seed {chosen['seed']}: test {chosen['test']:.2%} "
              f"(dev {chosen['dev']:.2%}), {chosen['run']}")
        report[dataset] = {"runs": runs, "chosen": chosen, "ensembles": ensembles}
    if args.json:
        import hashlib

        digest = hashlib.sha256(Path(args.vectors).read_bytes()).hexdigest()  # what the runs read, to compare a re-run
        Path(args.json).write_text(json.dumps({"vectors": args.vectors, "vectors_sha256": digest, "corpora": CORPORA,
                                               "threads": os.environ.get("SEQLAB_THREADS"), **report}, indent=1))


if __name__ == "__main__":
    main()
