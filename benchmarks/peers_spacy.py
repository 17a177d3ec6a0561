"""The spaCy side of ``peers.py`` (runs in the peers' venv, never seqlab's): ``spacy train`` with spaCy's own default
config for the component, on the files ``peers.py`` wrote, with one logger added that writes the test predictions
at every evaluation spaCy makes.

* ``textcat``: ``spacy init config --pipeline textcat``; ``--arch bow`` is ``--optimize efficiency`` (TextCatBOW),
  ``--arch ensemble`` is ``--optimize accuracy`` (TextCatEnsemble: a CNN tok2vec and the BOW model) without the
  pretrained ``en_core_web_lg`` vectors that config names (nothing is downloaded here; neither side has vectors).
  Files: ``train.tsv``, ``dev.tsv``, ``test.tsv`` with a ``label<TAB>text`` header; spaCy tokenises the text itself.
* ``tagger`` / ``ner``: ``--pipeline tagger`` or ``ner`` (``init config``'s default, ``--optimize efficiency``;
  ``--arch accuracy`` for the other, without vectors) on ``train.jsonl`` ...
  rows ``{"words": [...], "tags": [...]}``: the words as given (no re-tokenising), tags as POS tags or, for ``ner``,
  IOB chunk tags read as entity spans.

The clock: seconds since spaCy's training loop started, less the time this logger spends predicting the test file
(spaCy's own dev evaluations stay on its clock, as seqlab's do on its). ``--max-minutes`` stops training after the
first evaluation past it. spaCy's defaults keep ``use_averages = false``, so the weights at a log step are the ones
spaCy evaluates. The last line of ``--log`` is the model spaCy keeps (``model-best``, chosen on dev) on test.

    python peers_spacy.py textcat --data DIR --arch ensemble --log test.jsonl --model-out DIR --seed 1
    python peers_spacy.py bench --model DIR/model-best --data DIR --json speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from peer_files import read_tsv


class TimeUp(Exception):
    """Raised by the logger after the evaluation that passed ``--max-minutes``."""


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def docbin(kind: str, nlp, folder: Path, split: str, labels: list[str]):
    from spacy.tokens import Doc, DocBin

    docs = DocBin()
    if kind == "textcat":
        for label, text in read_tsv(folder / f"{split}.tsv"):
            doc = nlp.make_doc(text)
            doc.cats = {name: float(name == label) for name in labels}
            docs.add(doc)
    else:
        for row in read_jsonl(folder / f"{split}.jsonl"):
            if kind == "tagger":
                docs.add(Doc(nlp.vocab, words=row["words"], tags=row["tags"]))
            else:
                docs.add(Doc(nlp.vocab, words=row["words"], ents=row["tags"]))
    return docs


def predict(kind: str, nlp, folder: Path, batch_size: int = 64) -> list:
    from spacy.tokens import Doc

    if kind == "textcat":
        docs = nlp.pipe((text for _, text in read_tsv(folder / "test.tsv")), batch_size=batch_size)
        return [max(doc.cats, key=doc.cats.get) for doc in docs]
    rows = read_jsonl(folder / "test.jsonl")
    docs = nlp.pipe((Doc(nlp.vocab, words=row["words"]) for row in rows), batch_size=batch_size)
    if kind == "tagger":
        return [[token.tag_ for token in doc] for doc in docs]
    return [[f"{t.ent_iob_}-{t.ent_type_}" if t.ent_iob_ in ("B", "I") else "O" for t in doc] for doc in docs]


def config_for(kind: str, arch: str):
    from spacy.cli.init_config import init_config

    pipeline = {"textcat": "textcat", "tagger": "tagger", "ner": "ner"}[kind]
    optimize = "accuracy" if arch in ("ensemble", "accuracy") else "efficiency"  # spaCy's own default: efficiency
    config = init_config(lang="en", pipeline=[pipeline], optimize=optimize, gpu=False)
    config["paths"]["vectors"] = None  # en_core_web_lg cannot be downloaded here; seqlab has no vectors either
    config["initialize"]["vectors"] = None
    if "tok2vec" in config["components"]:
        config["components"]["tok2vec"]["model"]["embed"]["include_static_vectors"] = False
    return config


def train(args) -> None:
    import spacy
    from spacy.cli.train import train as spacy_train

    folder = Path(args.data)
    labels = sorted({label for label, _ in read_tsv(folder / "train.tsv")}) if args.kind == "textcat" else []
    work = Path(args.model_out)
    work.mkdir(parents=True, exist_ok=True)
    blank = spacy.blank("en")
    for split in ("train", "dev"):
        docbin(args.kind, blank, folder, split, labels).to_disk(work / f"{split}.spacy")
    log = open(args.log, "w", encoding="utf-8")
    held: dict = {}

    @spacy.registry.loggers("seqlab_peer.v1")
    def seqlab_peer():
        def setup(nlp, stdout=sys.stdout, stderr=sys.stderr):
            held.update(nlp=nlp, start=time.perf_counter(), off=0.0)

            def log_step(info):
                if info is None or info.get("score") is None:
                    return
                paused = time.perf_counter()
                seconds = paused - held["start"] - held["off"]
                record = {"step": info["step"], "epoch": info["epoch"], "train_seconds": seconds,
                          "dev_score": info["score"]}
                if not args.final_only:
                    record["pred"] = predict(args.kind, nlp, folder)
                log.write(json.dumps(record) + "\n")
                log.flush()
                print(f"step {info['step']} epoch {info['epoch']} {seconds:.0f} s dev {info['score']:.4f}",
                      file=stderr, flush=True)
                held["off"] += time.perf_counter() - paused
                held["seconds"] = seconds
                if args.max_minutes and seconds > args.max_minutes * 60:
                    raise TimeUp

            return log_step, lambda: None

        return setup

    config = config_for(args.kind, args.arch)
    config["paths"]["train"], config["paths"]["dev"] = str(work / "train.spacy"), str(work / "dev.spacy")
    config["system"]["seed"] = args.seed
    config["training"]["seed"] = args.seed
    config["training"]["logger"] = {"@loggers": "seqlab_peer.v1"}
    config.to_disk(work / "config.cfg")
    try:
        spacy_train(work / "config.cfg", work)
    except TimeUp:
        print(f"stopped after {args.max_minutes} minutes of training", file=sys.stderr)
    best = spacy.load(work / "model-best")
    log.write(json.dumps({"final": True, "train_seconds": held["seconds"], "pred": predict(args.kind, best, folder)})
              + "\n")
    log.close()


def bench(args) -> None:
    """As ``benchmarks/inference.py`` times seqlab: documents per second at batch 64 over the whole test file (the
    median of ``--repeats`` passes) and per-document latency at batch 1 (p50 / p99 over the first ``--single``
    texts, 20 warm-up texts first), one thread; with the test accuracy of the labels it gave."""
    import statistics

    import spacy

    nlp = spacy.load(args.model)
    rows = read_tsv(Path(args.data) / "test.tsv")
    texts = [text for _, text in rows]
    for text in texts[:20]:
        nlp(text)
    latencies = []
    for text in texts[:args.single]:
        started = time.perf_counter()
        nlp(text)
        latencies.append(time.perf_counter() - started)
    passes = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        docs = list(nlp.pipe(texts, batch_size=64))
        passes.append(time.perf_counter() - started)
    correct = sum(max(doc.cats, key=doc.cats.get) == label for doc, (label, _) in zip(docs, rows))
    latencies.sort()
    result = {"runtime": f"spaCy {spacy.__version__} ({Path(args.model).parent.name})", "docs": len(texts),
              "p50_ms": 1000 * latencies[len(latencies) // 2],
              "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
              "batch64_sentences_per_s": len(texts) / statistics.median(passes), "test_accuracy": correct / len(rows)}
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=("textcat", "tagger", "ner", "bench"))
    parser.add_argument("--data", required=True)
    parser.add_argument("--arch", choices=("ensemble", "bow", "default", "accuracy"), default="default")
    parser.add_argument("--log")
    parser.add_argument("--model-out")
    parser.add_argument("--model")
    parser.add_argument("--json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-minutes", type=float)
    parser.add_argument("--final-only", action="store_true",
                        help="score the test file with the kept model only, not at every evaluation (IMDb: 25,000 "
                             "reviews at every evaluation would cost more than the training)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--single", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    (bench if args.kind == "bench" else train)(args)


if __name__ == "__main__":
    main()
