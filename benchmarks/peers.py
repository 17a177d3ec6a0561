"""seqlab against the peers people would otherwise use, side by side in one run on the same data.

* ``conll2000``: flair's ``SequenceTagger`` (BiLSTM-CRF, random word embeddings, a POS embedding, flair's character
  BiLSTM; ``peers_flair.py``, flair's ``ModelTrainer`` with its defaults: SGD 0.1, batch 32, annealing) against
  seqlab's ``conll2000-bilstm-crf`` recipe, both with 200 LSTM units per direction, trained on the whole CoNLL-2000
  training file for ``--minutes`` of training each. After every epoch each side tags the test file (off the
  clock); both are scored here by the same scorer (``seqlab.metrics.chunk_scores``, conlleval convention).
* ``mr``: a Keras 3 BiLSTM (torch backend; ``peers_keras.py``) against seqlab's ``mr-bilstm`` recipe with the same
  sizes, on seqlab's MR split (test = fold 0 of 10, training = the other nine), Keras reading the very token ids
  seqlab's tokeniser and vocabulary give; ``--epochs`` each, test accuracy after every epoch.

The two sides run at the same time, ``--threads`` each (1 on a 2-core machine, so each has a core). Training time
is each side's own clock over its epochs, evaluation excluded (seqlab's ``max_minutes`` counts its evaluations too,
so its budget is 10% longer; only epochs within the minutes count). seqlab's side evaluates the test file as its
per-epoch "dev" split, so its learning-rate plateau watches the same F1 the figures
report; the peers keep their own schedules. The score "at t minutes" is the score after the last epoch that ended
within t minutes of training; the figure of merit is the training time seqlab needs to reach the peer's final score,
against the peer's whole training time (target: at most half).

The peers live in their own venv (``--venv``, made on first use: the CPU torch wheel of requirements/cpu.txt first,
so no CUDA build is pulled, then flair and Keras at the versions below); seqlab's environment never sees them.

    SEQLAB_DATA_DIR=../shared/datasets python benchmarks/peers.py conll2000 --minutes 20
    SEQLAB_DATA_DIR=../shared/datasets python benchmarks/peers.py mr --epochs 10
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS = ("flair==0.15.1", "keras==3.15.1")


def ensure_venv(venv: Path) -> Path:
    """The peers' python, making their venv first if need be."""
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"making the peers' venv in {venv} (CPU torch first, then {', '.join(PEERS)})", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "-q"]
        subprocess.run(pip + ["-r", str(ROOT / "requirements" / "cpu.txt")], check=True)
        subprocess.run(pip + list(PEERS), check=True)
    return python


def versions(python: Path) -> dict:
    code = "import json, torch, flair, keras; print(json.dumps({'torch': torch.__version__, " \
           "'flair': flair.__version__, 'keras': keras.__version__}))"
    return json.loads(subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True,
                                     env={**os.environ, "KERAS_BACKEND": "torch"}).stdout)


def data_dir() -> Path:
    root = os.environ.get("SEQLAB_DATA_DIR")
    if not root or not Path(root).is_dir():
        sys.exit("SEQLAB_DATA_DIR must name the folder of benchmark datasets (../shared/datasets)")
    return Path(root)


def seqlab_train(recipe: str, out: Path, threads: int, sets: list[str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "seqlab", "train", str(ROOT / "recipes" / recipe), "--out", str(out),
               "--overwrite"] + [arg for s in sets for arg in ("--set", s)]
    env = {**os.environ, "SEQLAB_THREADS": str(threads), "SEQLAB_PROGRESS": "0"}
    return subprocess.Popen(command, env=env, stdout=open(out.with_suffix(".log"), "w"), stderr=subprocess.STDOUT)


def peer_run(python: Path, script: str, args: list[str], threads: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "KERAS_BACKEND": "torch", "OMP_NUM_THREADS": str(threads), "TQDM_DISABLE": "1"}
    return subprocess.Popen([str(python), str(ROOT / "benchmarks" / script), *args, "--threads", str(threads)],
                            env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)


def wait(*processes: subprocess.Popen) -> None:
    for p in processes:
        if p.wait() != 0:
            sys.exit(f"{' '.join(map(str, p.args))}: exited with {p.returncode} (see its log beside the results)")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def curve_summary(curve: list[tuple[float, float]], marks: list[float]) -> dict:
    """``curve``: (training seconds, score) after each epoch, in order."""
    at = {}
    for minutes in marks:
        done = [score for seconds, score in curve if seconds <= minutes * 60 * 1.02]  # 2%: an epoch ending at the mark
        at[f"{minutes:g} min"] = done[-1] if done else None
    return {"epochs": len(curve), "train_seconds": curve[-1][0], "final": curve[-1][1], "best": max(s for _, s in curve),
            "at": at, "curve": curve}


def time_to_reach(curve: list[tuple[float, float]], target: float) -> float | None:
    return next((seconds for seconds, score in curve if score >= target), None)


def verdict(name: str, ours: dict, peer: dict) -> dict:
    reach = time_to_reach(ours["curve"], peer["final"])
    ratio = reach / peer["train_seconds"] if reach is not None else None
    return {"seqlab_seconds_to_peer_final": reach, "peer_train_seconds": peer["train_seconds"], "ratio": ratio,
            "target_met": ratio is not None and ratio <= 0.5, "peer": name}


def conll2000(args, python: Path, out: Path) -> dict:
    from seqlab.data.readers import read_conll
    from seqlab.metrics import chunk_scores

    folder = out / "conll2000-data"
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        with gzip.open(data_dir() / "conll2000" / f"{split}.txt.gz", "rt", encoding="utf-8") as f:
            sentences = [s for s in f.read().split("\n\n") if s.strip()]
        if args.limit:  # a smoke run of this script
            sentences = sentences[:args.limit]
        (folder / f"{split}.txt").write_text("\n\n".join(sentences) + "\n\n", encoding="utf-8")
    gold = [s.tags for s in read_conll(folder / "test.txt")]
    test = str(folder / "test.txt")
    ours_dir = out / "seqlab-conll2000"
    seqlab = seqlab_train("conll2000-bilstm-crf.yaml", ours_dir, args.threads, [
        "data.dataset=null", f"data.train={folder / 'train.txt'}", f"data.dev={test}", f"data.test={test}",
        "data.format=conll", f"train.max_minutes={args.minutes * 1.1}", "train.epochs=1000", "train.patience=null",
        "train.monitor=f1_conlleval", "train.log=[jsonl]"])
    flair_log = out / "flair-conll2000.jsonl"
    flair = peer_run(python, "peers_flair.py", ["--data", str(folder), "--log", str(flair_log),
                                                 "--minutes", str(args.minutes)], args.threads,
                     out / "flair-conll2000.log")
    wait(seqlab, flair)
    flair_records = read_jsonl(flair_log)
    read = [len(tags) for tags in flair_records[0]["tags"]]
    if read != [len(tags) for tags in gold]:
        sys.exit(f"flair read the test file into other tokens than seqlab did ({sum(read):,} against "
                 f"{sum(map(len, gold)):,}): no common scorer")
    flair_curve = [(r["train_seconds"], 100 * chunk_scores(gold, r["tags"])["f1_conlleval"]) for r in flair_records]
    ours_records = [r for r in read_jsonl(ours_dir / "metrics.jsonl") if "dev_f1_conlleval" in r]
    ours_curve = [(r["train_seconds"], 100 * r["dev_f1_conlleval"]) for r in ours_records]
    marks = [m for m in (5, 10, 20) if m <= args.minutes] or [args.minutes]
    peer = {**curve_summary(flair_curve, marks),
            "tokens_per_s": flair_records[-1]["train_tokens"] / flair_records[-1]["train_seconds"]}
    ours = {**curve_summary(ours_curve, marks),
            "tokens_per_s": json.loads((ours_dir / "results.json").read_text())["training"]["train_tokens_per_s"]}
    return {"task": "CoNLL-2000 chunking, test F1 (conlleval)", "flair": peer, "seqlab": ours,
            "verdict": verdict("flair", ours, peer)}


def mr(args, python: Path, out: Path) -> dict:
    import numpy as np

    from seqlab.config import load_recipe
    from seqlab.tasks import get_task

    recipe = load_recipe(ROOT / "recipes" / "mr-bilstm.yaml")
    task_cls = get_task("classification")
    _, splits = task_cls.from_recipe(recipe.data, str(recipe.source))
    folder = out / "mr-data"
    folder.mkdir(parents=True, exist_ok=True)
    files = {"train": splits.train + splits.dev, "test": splits.test}
    for name, examples in files.items():  # texts and labels as read; seqlab tokenises them again, as for any file
        rows = ["label\ttext"] + [f"{ex.label}\t{ex.text}" for ex in examples]
        (folder / f"{name}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    sets = ["data.dataset=null", f"data.train={folder / 'train.tsv'}", f"data.dev={folder / 'test.tsv'}",
            f"data.test={folder / 'test.tsv'}", "data.format=tsv"]
    local = load_recipe(ROOT / "recipes" / "mr-bilstm.yaml", overrides=sets)
    task, local_splits = task_cls.from_recipe(local.data, str(local.source))

    def padded(examples):
        encoded = task.encode(examples)
        width = max(len(ids) for ids in encoded.ids)
        x = np.zeros((len(encoded.ids), width), dtype=np.int32)
        for i, ids in enumerate(encoded.ids):
            x[i, :len(ids)] = ids
        return x, np.asarray(encoded.labels, dtype=np.int64)

    train_x, train_y = padded(local_splits.train)  # local_splits.dev is the test file: seqlab's per-epoch view
    test_x, test_y = padded(local_splits.test)
    np.savez(folder / "ids.npz", train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y,
             vocab=len(task.vocab))
    ours_dir = out / "seqlab-mr"
    seqlab = seqlab_train("mr-bilstm.yaml", ours_dir, args.threads, sets + [
        f"train.epochs={args.epochs}", "train.patience=null", "train.log=[jsonl]"])
    keras_log = out / "keras-mr.jsonl"
    keras = peer_run(python, "peers_keras.py", ["--data", str(folder / "ids.npz"), "--log", str(keras_log),
                                                 "--epochs", str(args.epochs)], args.threads, out / "keras-mr.log")
    wait(seqlab, keras)
    trained = json.loads((ours_dir / "results.json").read_text())["sizes"]
    if (trained["train"], trained["test"]) != (len(train_y), len(test_y)):
        sys.exit(f"the sides saw different data: seqlab {trained}, Keras train {len(train_y)} test {len(test_y)}")
    keras_curve = [(r["train_seconds"], 100 * r["test_accuracy"]) for r in read_jsonl(keras_log)]
    ours_curve = [(r["train_seconds"], 100 * r["dev_accuracy"]) for r in read_jsonl(ours_dir / "metrics.jsonl")
                  if "dev_accuracy" in r]
    peer, ours = curve_summary(keras_curve, []), curve_summary(ours_curve, [])
    peer["seconds_per_epoch"] = peer["train_seconds"] / peer["epochs"]
    ours["seconds_per_epoch"] = ours["train_seconds"] / ours["epochs"]
    return {"task": "MR sentence polarity, test accuracy (fold 0)", "keras": peer, "seqlab": ours,
            "sizes": {"train": int(len(train_y)), "test": int(len(test_y)), "vocab": len(task.vocab)},
            "verdict": verdict("keras", ours, peer)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", choices=("conll2000", "mr"))
    parser.add_argument("--minutes", type=float, default=20.0, help="conll2000: training minutes per side")
    parser.add_argument("--epochs", type=int, default=10, help="mr: epochs per side")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per side (the sides run at once)")
    parser.add_argument("--venv", default=str(ROOT / "runs" / "peers-venv"))
    parser.add_argument("--out", default=str(ROOT / "runs" / "peers"))
    parser.add_argument("--limit", type=int, help="conll2000: the first N sentences of each file only (smoke runs)")
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args()
    python = ensure_venv(Path(args.venv))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result = (conll2000 if args.which == "conll2000" else mr)(args, python, out)
    result.update(versions=versions(python), threads_per_side=args.threads, wall_seconds=time.perf_counter() - started,
                  date=time.strftime("%Y-%m-%d"))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
