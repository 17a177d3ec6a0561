"""seqlab against the peers people would otherwise use, side by side in one run on the same data.

* ``conll2000``: flair's ``SequenceTagger`` (BiLSTM-CRF, random word embeddings, a POS embedding, flair's character
  BiLSTM; ``peers_flair.py``, flair's ``ModelTrainer`` with its defaults: SGD 0.1, batch 32, annealing) against
  seqlab's ``conll2000-bilstm-crf`` recipe, both with 200 LSTM units per direction, trained on the whole CoNLL-2000
  training file for ``--minutes`` of training each. After every epoch each side tags the test file (off the
  clock); both are scored here by the same scorer (``seqlab.metrics.chunk_scores``, conlleval convention).
* ``mr``: a Keras 3 BiLSTM (torch backend; ``peers_keras.py``) against seqlab's ``mr-bilstm`` recipe with the same
  sizes, on seqlab's MR split (test = fold 0 of 10, training = the other nine), Keras reading the very token ids
  seqlab's tokeniser and vocabulary give; ``--epochs`` each, test accuracy after every epoch.

* ``spacy-textcat``: spaCy 3.8 ``spacy train`` with its own ``init config`` for ``textcat`` (``peers_spacy.py``):
  TextCatEnsemble (``--optimize accuracy``, no pretrained vectors) beside seqlab's best recipe for the set, and
  TextCatBOW (``--optimize efficiency``) beside seqlab's BoW, on MR, SST-2, TREC-6, IMDb (``--sets``), seeds
  ``--seeds``; the ensemble only for ``--ensemble-seeds`` (a run of it is longer than ten minutes). Both sides read
  the same ``train/dev/test.tsv`` (seqlab's split of the set, written out), choose on dev, and are scored on test
  by seqlab's accuracy; seqlab keeps every epoch's model and spaCy's logger predicts at every evaluation, so each
  side has a test curve against its training seconds.
* ``fasttext``: fastText 0.9 supervised (``peers_fasttext.py``: its defaults with word bigrams, and its tutorial's
  ``lr 1.0, epoch 25, wordNgrams 2``) in one lane, seqlab's BoW then TextCNN recipe in the other.
* ``spacy-infer``: the MR classifiers at inference on one thread, one runtime at a time: seqlab's torch and ONNX
  runtimes (``inference.py``) against spaCy's ``nlp.pipe`` (batch 64) and ``nlp(text)`` (batch 1).
* ``spacy-tagger``: UD English EWT UPOS (spaCy ``tagger``) and CoNLL-2000 chunks as entity spans (spaCy ``ner``),
  both with ``init config``'s default (efficiency), on the very tokens seqlab's recipes read.
* ``g2p``: DeepPhonemizer's autoregressive (or forward, ``--dp-model``) Transformer from its shipped config, sized
  as seqlab's (``peers_dp.py``), against ``g2p-cmudict-bilstm-attn`` (or ``--g2p-recipe transformer``), for
  ``--minutes`` each on seqlab's CMUdict split, WER by seqlab's scorer on every checkpoint.
* ``decode``: beam-5 decoding speed on one thread: seqlab's Transformer (torch, key/value cache; ONNX) against
  CTranslate2 running the same weights, float32 and int8 (``peers_ct2.py``; CTranslate2 4.8 cannot read Eole).
* ``ulmfit``: fastai 2.8's ULMFiT (``peers_fastai.py``: ``language_model_learner`` / ``text_classifier_learner``
  with ``AWD_LSTM``, ``pretrained=False``, sized as seqlab's recipes) on the same LM texts (IMDb train + unlabelled,
  never test) and SST-2 files, in the time seqlab's LM took (``--seqlab-points``: seqlab's runs as
  ``LM_RUN:CLASSIFIER_RUN,...``, each point's seconds the LM's wall time plus the classifier's training time; the
  LMs must have finished, the classifiers by the time fastai has); fastai's LM reads the first
  ``--fastai-lm-lines`` texts, its one epoch cut to the batches that fit the longest LM's wall time.
* ``multi30k``: Eole's Transformer (3 + 3 layers, 256 / 512, shared vocabulary; ``peers_eole.py``) against
  ``multi30k-de-en-transformer``, ``--minutes`` each, sacreBLEU with beam 5 on every checkpoint.

The two sides run at the same time, ``--threads`` each (1 on a 2-core machine, so each has a core). Training time
is each side's own clock over its epochs, evaluation excluded (seqlab's ``max_minutes`` counts its evaluations too,
so its budget is 10% longer; only epochs within the minutes count). seqlab's side evaluates the test file as its
per-epoch "dev" split, so its learning-rate plateau watches the same F1 the figures
report; the peers keep their own schedules. The score "at t minutes" is the score after the last epoch that ended
within t minutes of training; the figure of merit is the training time seqlab needs to reach the peer's final score,
against the peer's whole training time (target: at most half).

The peers live in their own venv (``--venv``, made on first use: the CPU torch wheel of requirements/cpu.txt first,
so no CUDA build is pulled, then the peers at the versions in ``PEERS``); seqlab's environment never sees them.
Each run writes its JSON (``--json``) and beside it a PNG of test score against training seconds, both sides.

    SEQLAB_DATA_DIR=../shared/datasets python benchmarks/peers.py conll2000 --minutes 20
    SEQLAB_DATA_DIR=../shared/datasets python benchmarks/peers.py mr --epochs 10
    SEQLAB_DATA_DIR=../shared/datasets python benchmarks/peers.py spacy-textcat --sets mr --minutes 12 --json out.json
    SEQLAB_DATA_DIR=../shared/datasets python benchmarks/peers.py g2p --minutes 60 --json g2p.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS = ("flair==0.15.1", "keras==3.15.1", "spacy==3.8.18", "fasttext==0.9.3", "deep-phonemizer==0.0.19", "eole==0.6.4",
         "aiohttp==3.14.5", "ctranslate2==4.8.5", "fastai==2.8.12")  # aiohttp: eole's command line imports it without requiring it
# the classification sets: seqlab's best recipe, its BoW recipe, its TextCNN recipe
SETS = {"mr": ("mr-bilstm", "mr-bow", "mr-textcnn"), "sst2": ("sst2-bilstm", "sst2-bow", "sst2-textcnn"),
        "trec": ("trec-textcnn", "trec-bow", "trec-textcnn"), "imdb": ("imdb-bilstm", "imdb-bow", "imdb-textcnn")}


def ensure_venv(venv: Path) -> Path:
    """The peers' python, making their venv first (CPU torch first, so no CUDA build is pulled) and installing
    whichever of ``PEERS`` it does not have at the pinned versions yet."""
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "-q"]
    if not python.exists():
        print(f"making the peers' venv in {venv}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(pip + ["-r", str(ROOT / "requirements" / "cpu.txt")], check=True)
    marker = venv / "seqlab-peers.txt"
    if not marker.exists() or marker.read_text().split() != list(PEERS):
        print(f"installing {', '.join(PEERS)} in {venv}", file=sys.stderr)
        # constrained to the CPU torch already there: fastai would otherwise pull a newer (CUDA) build
        subprocess.run(pip + list(PEERS) + ["-c", str(ROOT / "requirements" / "cpu.txt")], check=True)
        marker.write_text("\n".join(PEERS) + "\n")
    return python


def versions(python: Path) -> dict:
    names = [p.split("==")[0] for p in PEERS] + ["torch"]
    code = f"import json, importlib.metadata as m; print(json.dumps({{n: m.version(n) for n in {names!r}}}))"
    return json.loads(subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True).stdout)


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

    from seqlab.tasks import load_recipe
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


def export_classification(name: str, folder: Path, limit: int | None = None) -> list[str]:
    """Write seqlab's train, dev and test split of set ``name`` (as its best recipe reads them) to
    ``folder/{train,dev,test}.tsv`` (``label<TAB>text``; tabs and line breaks in a text become spaces): the files
    both sides read. Returns the seqlab ``--set`` pairs that make a recipe read them."""
    from seqlab.tasks import load_recipe
    from seqlab.tasks import get_task

    recipe = load_recipe(ROOT / "recipes" / f"{SETS[name][0]}.yaml")
    _, splits = get_task("classification").from_recipe(recipe.data, str(recipe.source))
    folder.mkdir(parents=True, exist_ok=True)
    seen = {ex.label for ex in (splits.train[:limit] if limit else splits.train)}
    for split in ("train", "dev", "test"):
        examples = getattr(splits, split)[:limit] if limit else getattr(splits, split)
        examples = [ex for ex in examples if ex.label in seen]  # a --limit smoke run may miss a rare label
        rows = ["label\ttext"] + [f"{ex.label}\t{' '.join(ex.text.split())}" for ex in examples]
        (folder / f"{split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return ["data.dataset=null", "data.format=tsv"] + [
        f"data.{split}={folder / f'{split}.tsv'}" for split in ("train", "dev", "test")]


def gold_labels(folder: Path) -> list[str]:
    return [line.split("\t", 1)[0] for line in (folder / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]
            if line]


def seqlab_curve(run: Path, folder: Path) -> dict:
    """seqlab's test accuracy after each epoch (every epoch's model kept, each scored on the test file off the
    clock) and at the end (the model the run keeps, chosen on dev)."""
    from seqlab.inference import Limits, load
    from seqlab.metrics import accuracy
    from seqlab.training.loop import kept_epochs

    gold = gold_labels(folder)
    texts = [line.split("\t", 1)[1] for line in (folder / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]
             if line]
    limits = Limits(inputs=256, input_tokens=10**6, cost=10**12)

    def score(model_dir: Path) -> float:
        predictor = load(model_dir, limits)
        predicted = [r["label"] for i in range(0, len(texts), 256) for r in predictor.predict(texts[i:i + 256])]
        return 100 * accuracy(gold, predicted)

    results = json.loads((run / "results.json").read_text())
    seconds = {r["epoch"]: r["train_seconds"] for r in read_jsonl(run / "metrics.jsonl") if "dev_accuracy" in r}
    curve = [(seconds[int(d.name[len("epoch-"):])], score(d)) for d in kept_epochs(run)]
    final = score(run / "model")
    if abs(final - 100 * results["test"]["accuracy"]) > 1e-6 or results["test"]["n"] != len(gold):
        sys.exit(f"{run}: the kept model scores {final:.4f} on the test file here, its run said "
                 f"{100 * results['test']['accuracy']:.4f} on {results['test']['n']} texts: not the same test")
    return {"curve": curve, "final": final, "train_seconds": results["training"]["train_seconds"],
            "epochs": len(curve), "best_epoch": results["training"]["best_epoch"]}


def peer_curve(log: Path, gold: list[str]) -> dict:
    """A peer's jsonl (one line per evaluation, ``pred`` the test labels; a last ``final`` line: its kept model)."""
    from seqlab.metrics import accuracy

    records = read_jsonl(log)
    for r in records:
        if "pred" in r and len(r["pred"]) != len(gold):
            sys.exit(f"{log}: {len(r['pred'])} predictions for {len(gold)} test texts")
    steps = [r for r in records if not r.get("final")]
    final = next((r for r in records if r.get("final")), records[-1])
    return {"curve": [(r["train_seconds"], 100 * accuracy(gold, r["pred"])) for r in steps if "pred" in r],
            "final": 100 * accuracy(gold, final["pred"]), "train_seconds": final["train_seconds"],
            "evaluations": len(steps)}


def reach(ours: dict, peer: dict) -> dict:
    """When seqlab's test accuracy first reached the peer's final one, against the peer's whole training time."""
    seconds = time_to_reach(ours["curve"], peer["final"] - 1e-9)
    if seconds is None and ours["final"] >= peer["final"]:
        seconds = ours["train_seconds"]
    return {"seqlab_seconds_to_peer_final": seconds, "peer_train_seconds": peer["train_seconds"],
            "ratio": None if seconds is None else seconds / peer["train_seconds"]}


def seqlab_side(recipe: str, out: Path, threads: int, sets: list[str], seed: int) -> subprocess.Popen:
    extra = [] if recipe.endswith("-bow") else ["train.keep_epochs=1000", "train.log=[jsonl]"]
    return seqlab_train(f"{recipe}.yaml", out, threads, sets + [f"train.seed={seed}"] + extra)


def bow_summary(run: Path, folder: Path) -> dict:
    results = json.loads((run / "results.json").read_text())
    seconds = results["training"]["train_seconds"]  # the fit (TF-IDF and logistic regression); wall: the command
    return {"final": 100 * results["test"]["accuracy"], "train_seconds": seconds, "wall_seconds": results["wall_seconds"],
            "curve": [(seconds, 100 * results["test"]["accuracy"])]}


def classification_sets(args, out: Path):
    """Each of ``--sets``: (name, its files' folder, the ``--set`` pairs that make a recipe read them, gold labels)."""
    for name in args.sets:
        folder = out / f"{name}-data"
        sets = export_classification(name, folder, args.limit)
        yield name, folder, sets, gold_labels(folder)


def spacy_textcat(args, python: Path, out: Path) -> dict:
    """Per set and seed: seqlab's best recipe beside spaCy's TextCatEnsemble (``--ensemble-seeds`` only: a run of it
    takes longer than ten minutes, so one seed), then seqlab's BoW beside TextCatBOW."""
    report = {}
    for name, folder, sets, gold in classification_sets(args, out):
        runs = []
        for seed in args.seeds:
            row = {"seed": seed}
            pairs = ((SETS[name][0], "ensemble" if seed in args.ensemble_seeds else None), (SETS[name][1], "bow"))
            for ours_recipe, arch in pairs:
                ours_dir = out / f"seqlab-{name}-{ours_recipe}-s{seed}"
                ours = seqlab_side(ours_recipe, ours_dir, args.threads, sets, seed)
                if arch is None:
                    wait(ours)
                    row[f"seqlab_{ours_recipe}"] = seqlab_curve(ours_dir, folder)
                    continue
                peer_dir, peer_log = out / f"spacy-{name}-{arch}-s{seed}", out / f"spacy-{name}-{arch}-s{seed}.jsonl"
                peer = peer_run(python, "peers_spacy.py", ["textcat", "--data", str(folder), "--arch", arch,
                                                            "--log", str(peer_log), "--model-out", str(peer_dir),
                                                            "--seed", str(seed), "--max-minutes", str(args.minutes)]
                                + (["--final-only"] if name == "imdb" else []), args.threads, peer_dir.with_suffix(".log"))
                wait(ours, peer)
                mine = bow_summary(ours_dir, folder) if arch == "bow" else seqlab_curve(ours_dir, folder)
                theirs = peer_curve(peer_log, gold)
                row[f"spacy_{arch}"], row[f"seqlab_{ours_recipe}"] = theirs, mine
                row[f"{ours_recipe}_vs_spacy_{arch}"] = reach(mine, theirs)
                print(f"{name} seed {seed}: seqlab {ours_recipe} {mine['final']:.2f} in {mine['train_seconds']:.0f} s, "
                      f"spaCy {arch} {theirs['final']:.2f} in {theirs['train_seconds']:.0f} s", file=sys.stderr)
            best = f"seqlab_{SETS[name][0]}"
            row["best_vs_spacy_bow"] = reach(row[best], row["spacy_bow"])  # the strongest pairing, beyond its lane
            runs.append(row)
        report[name] = {"test_size": len(gold), "runs": runs, "means": means(runs)}
    return {"task": "text classification, test accuracy: seqlab against spaCy textcat", "sets": report}


def fasttext_peer(args, python: Path, out: Path) -> dict:
    """Per set and seed: fastText (its defaults with bigrams, then its tutorial's setting) in one lane, seqlab's
    BoW and TextCNN recipes in the other, one thread each, at the same time."""
    report = {}
    for name, folder, sets, gold in classification_sets(args, out):
        runs = []
        for seed in args.seeds:
            row = {"seed": seed}
            lane = [str(python), str(ROOT / "benchmarks" / "peers_fasttext.py"), "--data", str(folder), "--seed",
                    str(seed), "--threads", str(args.threads)]
            logs = {s: out / f"fasttext-{name}-{s}-s{seed}.jsonl" for s in ("default", "tutorial")}
            script = " && ".join(" ".join(lane + ["--setting", s, "--log", str(log)]) for s, log in logs.items())
            peer = subprocess.Popen(["bash", "-c", script], stdout=open(out / f"fasttext-{name}-s{seed}.log", "w"),
                                    stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": str(args.threads)})
            bow_dir, cnn_dir = out / f"seqlab-{name}-{SETS[name][1]}-s{seed}", out / f"seqlab-{name}-{SETS[name][2]}-s{seed}"
            ours = seqlab_side(SETS[name][1], bow_dir, args.threads, sets, seed)
            wait(ours)
            ours = seqlab_side(SETS[name][2], cnn_dir, args.threads, sets, seed)
            wait(ours, peer)
            for s, log in logs.items():
                row[f"fasttext_{s}"] = {**peer_curve(log, gold), "settings": {k: v for k, v in read_jsonl(log)[0].items()
                                                                             if k not in ("pred",)}}
            row["seqlab_bow"], row["seqlab_textcnn"] = bow_summary(bow_dir, folder), seqlab_curve(cnn_dir, folder)
            row["bow_time_over_fasttext_default"] = row["seqlab_bow"]["train_seconds"] / row["fasttext_default"]["train_seconds"]
            print(f"{name} seed {seed}: " + ", ".join(f"{k} {v['final']:.2f} ({v['train_seconds']:.1f} s)"
                                                      for k, v in row.items() if isinstance(v, dict) and "final" in v),
                  file=sys.stderr)
            runs.append(row)
        report[name] = {"test_size": len(gold), "runs": runs, "means": means(runs)}
    return {"task": "text classification, test accuracy: seqlab against fastText", "sets": report}


def means(runs: list[dict]) -> dict:
    """Each side's mean final accuracy and training seconds over the seeds."""
    import statistics

    sides = {k for r in runs for k, v in r.items() if isinstance(v, dict) and "final" in v}
    found = {k: [r[k] for r in runs if k in r] for k in sorted(sides)}
    return {k: {"seeds": len(v), "final": statistics.mean(x["final"] for x in v),
                "final_sd": statistics.pstdev([x["final"] for x in v]),
                "train_seconds": statistics.mean(x["train_seconds"] for x in v)} for k, v in found.items()}


# the tagging sets: seqlab's recipe, spaCy's component, the score (seqlab's metric on both sides' tags)
TAGGING = {"ud-ewt": ("ud-ewt-upos-bilstm", "tagger", "accuracy"),
           "conll2000": ("conll2000-bilstm-crf-words", "ner", "f1_conlleval")}


def export_tagging(recipe_name: str, folder: Path, limit: int | None) -> list[list[str]]:
    """seqlab's train, dev and test sentences of ``recipe_name`` as ``folder/{split}.jsonl`` (the tokens as the
    corpus has them, so both sides tag the same tokens); returns the gold test tags."""
    from seqlab.tasks import load_recipe
    from seqlab.tasks import get_task

    recipe = load_recipe(ROOT / "recipes" / f"{recipe_name}.yaml")
    _, splits = get_task("tagging").from_recipe(recipe.data, str(recipe.source))
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev", "test"):
        sentences = getattr(splits, split)[:limit] if limit else getattr(splits, split)
        rows = [json.dumps({"words": list(s.tokens), "tags": list(s.tags)}) for s in sentences]
        (folder / f"{split}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return [json.loads(line)["tags"] for line in (folder / "test.jsonl").read_text(encoding="utf-8").splitlines()]


def tag_score(metric: str, gold: list[list[str]], predicted: list[list[str]]) -> float:
    from seqlab.metrics import accuracy, chunk_scores

    if [len(t) for t in predicted] != [len(t) for t in gold]:
        sys.exit(f"the peer tagged {sum(map(len, predicted)):,} test tokens, seqlab's test file has "
                 f"{sum(map(len, gold)):,}: no common scorer")
    if metric == "accuracy":
        return 100 * accuracy([t for s in gold for t in s], [t for s in predicted for t in s])
    return 100 * chunk_scores(gold, predicted)[metric]


def seqlab_test_curve(run: Path, metric: str, threads: int, options: list[str] = ()) -> dict:
    """seqlab's test score after each epoch (``seqlab evaluate --split test`` on every kept epoch, off the clock)
    and of the model the run keeps."""
    from seqlab.training.loop import kept_epochs

    def score(model_dir: Path) -> float:
        shown = subprocess.run([sys.executable, "-m", "seqlab", "evaluate", str(model_dir), "--split", "test", "--json",
                                *options],
                               check=True, capture_output=True, text=True,
                               env={**os.environ, "SEQLAB_THREADS": str(threads)}).stdout
        value = json.loads(shown)[metric]
        return value if metric == "bleu" else 100 * value  # sacreBLEU is in points already; the rest are fractions

    results = json.loads((run / "results.json").read_text())
    seconds = {r["epoch"]: r["train_seconds"] for r in read_jsonl(run / "metrics.jsonl")
               if any(k.startswith("dev_") for k in r)}
    curve = [(seconds[int(d.name[len("epoch-"):])], score(d)) for d in kept_epochs(run)]
    return {"curve": curve, "final": score(run / "model"), "train_seconds": results["training"]["train_seconds"],
            "epochs": len(curve), "best_epoch": results["training"]["best_epoch"]}


def spacy_tagger(args, python: Path, out: Path) -> dict:
    """UD English EWT UPOS (spaCy's ``tagger``) and CoNLL-2000 chunks read as entity spans (spaCy's ``ner``),
    against seqlab's recipes on the same tokens, at the same time, one thread each, ``--minutes`` at most each."""
    report = {}
    for name in args.sets:
        recipe, component, metric = TAGGING[name]
        folder = out / f"{name}-data"
        gold = export_tagging(recipe, folder, args.limit)
        sets = [f"train.max_minutes={args.minutes}", "train.keep_epochs=1000", "train.log=[jsonl]"] + (
            [f"data.limit={args.limit}", f"data.eval_limit={args.limit}"] if args.limit else [])
        runs = []
        for seed in args.seeds:
            ours_dir = out / f"seqlab-{name}-s{seed}"
            peer_dir, peer_log = out / f"spacy-{name}-{component}-s{seed}", out / f"spacy-{name}-{component}-s{seed}.jsonl"
            ours = seqlab_train(f"{recipe}.yaml", ours_dir, args.threads, sets + [f"train.seed={seed}"])
            peer = peer_run(python, "peers_spacy.py", [component, "--data", str(folder), "--log", str(peer_log),
                                                        "--model-out", str(peer_dir), "--seed", str(seed),
                                                        "--max-minutes", str(args.minutes)],
                            args.threads, peer_dir.with_suffix(".log"))
            wait(ours, peer)
            records = read_jsonl(peer_log)
            steps = [r for r in records if not r.get("final")]
            theirs = {"curve": [(r["train_seconds"], tag_score(metric, gold, r["pred"])) for r in steps if "pred" in r],
                      "final": tag_score(metric, gold, records[-1]["pred"]), "train_seconds": records[-1]["train_seconds"],
                      "evaluations": len(steps)}
            mine = seqlab_test_curve(ours_dir, metric, args.threads)
            row = {"seed": seed, f"spacy_{component}": theirs, f"seqlab_{recipe}": mine,
                   "verdict": reach(mine, theirs)}
            print(f"{name} seed {seed}: seqlab {mine['final']:.2f} in {mine['train_seconds']:.0f} s, "
                  f"spaCy {theirs['final']:.2f} in {theirs['train_seconds']:.0f} s", file=sys.stderr)
            runs.append(row)
        report[name] = {"metric": metric, "test_sentences": len(gold), "test_tokens": sum(map(len, gold)),
                        "runs": runs, "means": means(runs)}
    return {"task": "tagging: seqlab against spaCy (UPOS accuracy; chunk F1, conlleval)", "metric": "test score",
            "sets": report}


def spacy_infer(args, python: Path, out: Path) -> dict:
    """MR classifiers at inference, one thread, one runtime at a time (nothing else should run): seqlab's torch and
    ONNX runtimes (``benchmarks/inference.py``) and spaCy's ``nlp.pipe`` / ``nlp(text)``, each on MR's test file."""
    folder = out / "mr-data"
    if not (folder / "test.tsv").exists():
        export_classification("mr", folder)
    ours = out / "inference-seqlab.json"
    env = {**os.environ, "SEQLAB_THREADS": str(args.threads), "OMP_NUM_THREADS": str(args.threads)}
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "inference.py"), "--model", args.seqlab_model,
                    "--threads", str(args.threads), "--out", str(ours)], check=True, env=env)
    rows = json.loads(ours.read_text())["rows"]
    for model in args.spacy_model:
        shown = out / f"inference-spacy-{Path(model).parent.name}.json"
        subprocess.run([str(python), str(ROOT / "benchmarks" / "peers_spacy.py"), "bench", "--model", model, "--data",
                        str(folder), "--json", str(shown), "--threads", str(args.threads)], check=True, env=env)
        rows.append(json.loads(shown.read_text()))
    spacy_rows = [r for r in rows if r["runtime"].startswith("spaCy")]
    best = {"batch64": max(r["batch64_sentences_per_s"] for r in spacy_rows), "p50": min(r["p50_ms"] for r in spacy_rows)}
    for r in rows:
        print(f"{r['runtime']:<40} p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  batch-64 "
              f"{r['batch64_sentences_per_s']:8.0f}/s  accuracy {100 * r['test_accuracy']:.2f}", file=sys.stderr)
    return {"task": "MR classifier inference, one thread", "seqlab_model": args.seqlab_model, "rows": rows,
            "targets": {r["runtime"]: {"batch64_at_least_spacy_best": r["batch64_sentences_per_s"] >= best["batch64"],
                                       "p50_at_most_spacy_best": r["p50_ms"] <= best["p50"]}
                        for r in rows if not r["runtime"].startswith("spaCy")}}


G2P = {"bilstm-attn": "g2p-cmudict-bilstm-attn", "transformer": "g2p-cmudict-transformer"}


def train_for(command: list[str], env: dict, log: Path, started: Path, minutes: float) -> None:
    """Run a peer's training ``command`` (in a process group of its own: it may start children) for ``minutes``
    after it writes ``started`` (its clock starts there, after its own preprocessing), then stop the group."""
    peer = subprocess.Popen(command, env=env, start_new_session=True, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    while not started.exists() and peer.poll() is None:
        time.sleep(1)
    try:
        peer.wait(timeout=minutes * 60)
    except subprocess.TimeoutExpired:
        os.killpg(peer.pid, signal.SIGTERM)
        peer.wait()


def g2p(args, python: Path, out: Path) -> dict:
    """seqlab's G2P recipe (``--g2p-recipe``) beside DeepPhonemizer (``--dp-model``: autoreg or forward), each for
    ``--minutes`` of training, at the same time, one thread each, on seqlab's CMUdict split; every kept epoch and
    every DeepPhonemizer checkpoint scored on the test words afterwards (greedy), by seqlab's WER."""
    from seqlab.tasks import load_recipe
    from seqlab.metrics import g2p_error_rates
    from seqlab.tasks.seq2seq.task import read_pair_splits

    recipe = G2P[args.g2p_recipe]
    loaded = load_recipe(ROOT / "recipes" / f"{recipe}.yaml")
    splits = read_pair_splits(loaded.data, str(loaded.source))
    folder = out / "cmudict-data"
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev", "test"):
        examples = getattr(splits, split)[:args.limit] if args.limit else getattr(splits, split)
        rows = ["word\tphonemes"] + [f"{ex.text}\t{ex.label}" for ex in examples]
        (folder / f"{split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    references: dict[str, list[list[str]]] = {}
    for ex in (splits.test[:args.limit] if args.limit else splits.test):
        references.setdefault(ex.text, []).append(ex.label.split())
    ours_dir, peer_dir = out / f"seqlab-g2p-{args.g2p_recipe}", out / f"dp-{args.dp_model}"
    sets = [f"train.max_minutes={args.minutes}", "train.epochs=1000", "train.keep_epochs=1000", "train.log=[jsonl]"] + (
        [f"data.limit={args.limit}", f"data.eval_limit={args.limit}"] if args.limit else [])
    ours = seqlab_train(f"{recipe}.yaml", ours_dir, args.threads, sets)
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    peer_args = [str(python), str(ROOT / "benchmarks" / "peers_dp.py"), "--data", str(folder), "--out", str(peer_dir),
                 "--model", args.dp_model, "--threads", str(args.threads)]
    if args.dp_warmup is not None:
        peer_args += ["--warmup", str(args.dp_warmup)]
    train_for(peer_args[:2] + ["train"] + peer_args[2:], env, out / f"dp-{args.dp_model}.log", peer_dir / "started",
              args.minutes)  # DeepPhonemizer's clock starts after its preprocessing
    wait(ours)
    log = out / f"dp-{args.dp_model}-test.jsonl"
    subprocess.run(peer_args[:2] + ["score", "--log", str(log)] + peer_args[2:], env=env, check=True)
    points = [(r["train_seconds"], 100 * g2p_error_rates(references, r["pred"])["wer"], r["step"])
              for r in read_jsonl(log)]
    if not points:
        sys.exit(f"DeepPhonemizer saved no checkpoint in {args.minutes} minutes (see {out / f'dp-{args.dp_model}.log'})")
    last = max(points, key=lambda p: p[0])
    theirs = {"curve": [(t, w) for t, w, _ in points], "final": last[1], "train_seconds": last[0], "steps": last[2],
              "best": min(w for _, w, _ in points)}
    mine = seqlab_test_curve(ours_dir, "wer", args.threads)
    reached = next((t for t, w in mine["curve"] if w <= theirs["final"]), None)
    verdict = {"seqlab_wer_at_end": mine["final"], "dp_wer_at_end": theirs["final"],
               "seqlab_seconds_to_dp_final": reached, "dp_train_seconds": theirs["train_seconds"],
               "target_met": mine["final"] <= theirs["final"]}
    print(f"G2P: seqlab {args.g2p_recipe} WER {mine['final']:.2f} ({mine['train_seconds']:.0f} s), DeepPhonemizer "
          f"{args.dp_model} {theirs['final']:.2f} ({theirs['train_seconds']:.0f} s, step {last[2]})", file=sys.stderr)
    return {"task": "G2P on seqlab's CMUdict split (stress kept), test WER %, greedy", "metric": "test WER % (lower is better)",
            "minutes_each": args.minutes, "test_words": len(references), "dp_warmup": args.dp_warmup,
            "sets": {"cmudict": {"runs": [{"seed": 1, f"seqlab_{args.g2p_recipe}": mine,
                                           f"deepphonemizer_{args.dp_model}": theirs, "verdict": verdict}]}}}


def multi30k(args, python: Path, out: Path) -> dict:
    """seqlab's ``multi30k-de-en-transformer`` beside Eole's Transformer, ``--minutes`` of training each, at the
    same time, one thread each; every kept epoch and every Eole checkpoint translates the test file afterwards
    (beam 5, off the clock), scored by seqlab's sacreBLEU."""
    from seqlab.tasks import load_recipe
    from seqlab.metrics import corpus_bleu
    from seqlab.tasks.seq2seq.task import read_pair_splits

    recipe = "multi30k-de-en-transformer"
    loaded = load_recipe(ROOT / "recipes" / f"{recipe}.yaml")
    splits = read_pair_splits(loaded.data, str(loaded.source))
    folder = out / "multi30k-data"
    folder.mkdir(parents=True, exist_ok=True)
    for split, name in (("train", "train"), ("dev", "val"), ("test", "test")):
        examples = getattr(splits, split)[:args.limit] if args.limit else getattr(splits, split)
        for side, lang in (("text", "de"), ("label", "en")):  # the tokens seqlab's split tokenizer reads
            lines = [" ".join(getattr(ex, side).split()) for ex in examples]
            (folder / f"{name}.{lang}").write_text("\n".join(lines) + "\n", encoding="utf-8")
    references = [ex.label for ex in (splits.test[:args.limit] if args.limit else splits.test)]
    ours_dir, peer_dir = out / "seqlab-multi30k", out / "eole-multi30k"
    sets = [f"train.max_minutes={args.minutes}", "train.epochs=1000", "train.keep_epochs=1000", "train.log=[jsonl]",
            "train.patience=null"] + ([f"data.limit={args.limit}", f"data.eval_limit={args.limit}"] if args.limit else [])
    ours = seqlab_train(f"{recipe}.yaml", ours_dir, args.threads, sets)
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    peer_args = [str(python), str(ROOT / "benchmarks" / "peers_eole.py"), "--data", str(folder), "--out", str(peer_dir),
                 "--threads", str(args.threads), "--warmup", str(args.eole_warmup),
                 "--checkpoint-steps", str(args.eole_checkpoint_steps)]
    train_for(peer_args[:2] + ["train"] + peer_args[2:], env, out / "eole-multi30k.log", peer_dir / "started",
              args.minutes)  # after build_vocab
    wait(ours)
    log = out / "eole-multi30k-test.jsonl"
    subprocess.run(peer_args[:2] + ["score", "--log", str(log)] + peer_args[2:], env=env, check=True)
    points = []
    for r in read_jsonl(log):
        if len(r["hypotheses"]) != len(references):
            sys.exit(f"Eole step {r['step']}: {len(r['hypotheses'])} translations for {len(references)} sentences")
        points.append((r["train_seconds"], corpus_bleu(r["hypotheses"], references)["bleu"], r["step"]))
    if not points:
        sys.exit(f"Eole saved no checkpoint in {args.minutes} minutes (see {peer_dir / 'eole.log'})")
    last = max(points)
    theirs = {"curve": [(t, b) for t, b, _ in points], "final": last[1], "train_seconds": last[0], "steps": last[2]}
    mine = seqlab_test_curve(ours_dir, "bleu", args.threads, ["--beam", "5"])
    print(f"Multi30k: seqlab BLEU {mine['final']:.2f} ({mine['train_seconds']:.0f} s), Eole {theirs['final']:.2f} "
          f"({theirs['train_seconds']:.0f} s, step {last[2]})", file=sys.stderr)
    return {"task": "Multi30k de→en test 2016, sacreBLEU, beam 5", "metric": "test BLEU", "minutes_each": args.minutes,
            "eole_warmup": args.eole_warmup, "test_sentences": len(references),
            "sets": {"multi30k": {"runs": [{"seed": 1, "seqlab_transformer": mine, "eole_transformer": theirs,
                                            "verdict": reach(mine, theirs)}]}}}


def decode(args, python: Path, out: Path) -> dict:
    """Beam-5 decoding of the Multi30k test sources on one thread, one runtime at a time: seqlab's Transformer in
    torch (key/value cache) and its ONNX export, against CTranslate2 running the same weights (``peers_ct2.py``:
    CTranslate2 has no converter for Eole checkpoints), float32 and int8. Output tokens per second (``<eos>``
    included), sacreBLEU, and how many translations equal torch's."""
    import tempfile

    import torch

    from seqlab.tasks import recipe_from_dict
    from seqlab.data.readers import TextExample
    from seqlab.export.onnx import export
    from seqlab.inference import Limits, load
    from seqlab.metrics import corpus_bleu
    from seqlab.tasks import load_task
    from seqlab.tasks.seq2seq.task import read_pair_splits

    torch.set_num_threads(args.threads)
    model_dir = Path(args.decode_model or out / "seqlab-multi30k")
    art, task = load_task(model_dir)
    loaded = recipe_from_dict(art.recipe, str(model_dir))
    test = read_pair_splits(loaded.data, str(loaded.source)).test[:args.limit or None]
    texts, references = [" ".join(ex.text.split()) for ex in test], [ex.label for ex in test]
    src = out / "decode-test.de"
    src.write_text("\n".join(texts) + "\n", encoding="utf-8")
    rows = []

    def row(runtime: str, seconds: float, hypotheses: list[str]) -> dict:
        tokens = sum(len(h.split()) + 1 for h in hypotheses)
        found = {"runtime": runtime, "seconds": seconds, "output_tokens": tokens, "tokens_per_s": tokens / seconds,
                 "bleu": corpus_bleu(hypotheses, references)["bleu"], "hypotheses": hypotheses}
        print(f"{runtime:<36} {tokens / seconds:8.0f} tokens/s  BLEU {found['bleu']:.2f}", file=sys.stderr)
        return found

    split = task.encode([TextExample(t) for t in texts])
    task.predict_split(art.model, task.encode([TextExample(t) for t in texts[:8]]), 32, 5)  # warm-up
    started = time.perf_counter()
    hypotheses = task.predict_split(art.model, split, 32, 5)
    rows.append(row("seqlab torch (key/value cache)", time.perf_counter() - started, hypotheses))
    folder = Path(tempfile.mkdtemp(prefix="seqlab-onnx-"))
    export(str(model_dir), folder)
    predictor = load(folder, Limits(inputs=32, input_tokens=10**6, cost=10**12), threads=args.threads)
    predictor.predict(texts[:8], {"beam": 5})
    started = time.perf_counter()
    found = [r["hypotheses"][0]["text"] for i in range(0, len(texts), 32)
             for r in predictor.predict(texts[i:i + 32], {"beam": 5})]
    rows.append(row("seqlab ONNX (onnxruntime, numpy beam)", time.perf_counter() - started, found))
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    for quantization in ("float32", "int8"):
        converted = out / f"ct2-{quantization}"
        shown = out / f"ct2-{quantization}.json"
        base = [str(python), str(ROOT / "benchmarks" / "peers_ct2.py")]
        subprocess.run(base + ["convert", "--model", str(model_dir / "model" if (model_dir / "model").is_dir() else model_dir),
                               "--out", str(converted), "--quantization", quantization], check=True, env=env)
        subprocess.run(base + ["translate", "--model", str(converted), "--src", str(src), "--beam", "5",
                               "--max-ratio", str(task.max_ratio),
                               "--threads", str(args.threads), "--json", str(shown)], check=True, env=env)
        peer = json.loads(shown.read_text())
        rows.append(row(peer["runtime"], peer["seconds"], peer["hypotheses"]))
    reference = rows[0]["hypotheses"]
    for r in rows:
        r["same_as_torch"] = sum(a == b for a, b in zip(r.pop("hypotheses"), reference)) / len(reference)
    return {"task": "Multi30k de→en test 2016, beam 5, batches of 32, one thread", "model": str(model_dir),
            "sentences": len(texts), "rows": rows,
            "gap": {r["runtime"]: rows[0]["tokens_per_s"] / r["tokens_per_s"] for r in rows[2:]}}


def write_lm_texts(path: Path) -> int:
    """The training texts of ``recipes/imdb-lm.yaml`` (IMDb train + unlabelled, every 100th held out as seqlab's
    dev), one per line, in seqlab's order: the corpus fastai's LM reads."""
    from seqlab.tasks import get_task, load_recipe

    recipe = load_recipe(ROOT / "recipes" / "imdb-lm.yaml")
    _, splits = get_task("language_model").from_recipe(recipe.data, str(recipe.source))
    texts = [" ".join(ex.text.split()) for ex in splits.train]
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return len(texts)


def seqlab_point(lm_run: Path, classifier_run: Path) -> dict:
    """One seqlab ULMFiT pipeline: seconds = the LM's wall time + the classifier's training time."""
    lm = json.loads((lm_run / "results.json").read_text())
    clas = json.loads((classifier_run / "results.json").read_text())
    return {"lm_run": str(lm_run), "classifier_run": str(classifier_run), "lm_seconds": lm["wall_seconds"],
            "lm_train_tokens": lm["training"]["tokens"], "lm_dev_perplexity": lm["dev"].get("perplexity"),
            "train_seconds": clas["training"]["train_seconds"],
            "seconds": lm["wall_seconds"] + clas["training"]["train_seconds"], "test": 100 * clas["test"]["accuracy"],
            "test_n": clas["test"]["n"]}


def ulmfit(args, python: Path, out: Path) -> dict:
    """fastai's ULMFiT beside seqlab's finished runs (``--seqlab-points``) on SST-2, one thread."""
    from seqlab.metrics import accuracy

    folder = out / "sst2-data"
    export_classification("sst2", folder, args.limit)
    gold = gold_labels(folder)
    texts = out / "imdb-lm-texts.txt"
    if not texts.exists():
        write_lm_texts(texts)
    pairs = [pair.split(":") for pair in args.seqlab_points]
    budget = max(json.loads((Path(lm) / "results.json").read_text())["wall_seconds"] for lm, _ in pairs)
    log = out / f"fastai-sst2-s{args.seeds[0]}.jsonl"
    lane = ["--lm-texts", str(texts), "--lm-lines", str(args.fastai_lm_lines), "--lm-seconds", str(budget),
            "--data", str(folder), "--seed", str(args.seeds[0]), "--log", str(log)]
    wait(peer_run(python, "peers_fastai.py", lane, args.threads, log.with_suffix(".log")))
    points = [seqlab_point(Path(a), Path(b)) for a, b in pairs]  # read now: their classifiers may train meanwhile
    for point in points:
        if point["test_n"] != len(gold):
            sys.exit(f"{point['classifier_run']}: scored {point['test_n']} test sentences, the file has {len(gold)}")
    records = read_jsonl(log)
    for r in records:
        if "pred" in r and len(r["pred"]) != len(gold):
            sys.exit(f"{log}: {len(r['pred'])} predictions for {len(gold)} test sentences")
    final = next(r for r in records if r.get("final"))
    fastai = {"lm": records[0], "seconds": final["lm_seconds"] + final["train_seconds"],
              "total_seconds": final["total_seconds"], "test": 100 * accuracy(gold, final["pred"]),
              "stages": [{"stage": r["stage"], "seconds": r["lm_seconds"] + r["train_seconds"],
                          "test": 100 * accuracy(gold, r["pred"]), "dev": r["dev_accuracy"]} for r in records[1:-1]]}
    curve = sorted((p["seconds"], p["test"]) for p in points)
    reach_seconds = time_to_reach(curve, fastai["test"] - 1e-9)
    at_equal = [score for seconds, score in curve if seconds <= fastai["seconds"] * 1.02]
    return {"task": "SST-2 test accuracy from an IMDb LM: seqlab's ULMFiT recipes against fastai's", "seqlab": points,
            "fastai": fastai, "seqlab_at_fastai_seconds": at_equal[-1] if at_equal else None,
            "seqlab_seconds_to_fastai_final": reach_seconds,
            "ratio": None if reach_seconds is None else reach_seconds / fastai["seconds"]}


def plot_ulmfit(result: dict, path: Path) -> None:
    """SST-2 test accuracy against the seconds spent (LM + classifier): seqlab's pipelines, fastai's stages."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ours = sorted((p["seconds"], p["test"]) for p in result["seqlab"])
    ax.plot(*zip(*ours), marker="o", label="seqlab (LM + fine-tuning), one thread")
    theirs = [(s["seconds"], s["test"]) for s in result["fastai"]["stages"]]
    ax.plot(*zip(*theirs), marker="s", label="fastai ULMFiT (its stages), one thread")
    ax.set_xlabel("seconds, language model included")
    ax.set_ylabel("SST-2 test accuracy %")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot: {path}", file=sys.stderr)


def plot(result: dict, path: Path) -> None:
    """Test score against training seconds, every side, first seed, one panel per set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = result["sets"]
    fig, axes = plt.subplots(1, len(sets), figsize=(5 * len(sets), 4), squeeze=False)
    for ax, (name, found) in zip(axes[0], sets.items()):
        row = found["runs"][0]
        for side, value in row.items():
            if isinstance(value, dict) and value.get("curve"):
                xs, ys = zip(*value["curve"])
                ax.plot(xs, ys, marker="o", markersize=3, label=f"{side} (final {value['final']:.2f})")
        ax.set_xscale("log")
        ax.set_title(f"{name} (seed {row['seed']})")
        ax.set_xlabel("training seconds (one thread)")
        ax.set_ylabel(result.get("metric", "test accuracy %"))
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot: {path}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", choices=("conll2000", "mr", "spacy-textcat", "fasttext", "spacy-tagger", "spacy-infer", "g2p", "multi30k", "decode",
                                          "ulmfit"))
    parser.add_argument("--sets", type=lambda text: text.split(","),
                        help=f"comma-separated; spacy-textcat, fasttext: of {', '.join(SETS)}; "
                             f"spacy-tagger: of {', '.join(TAGGING)}")
    parser.add_argument("--seeds", type=lambda text: [int(s) for s in text.split(",")], default=[1, 2, 3])
    parser.add_argument("--ensemble-seeds", type=lambda text: [int(s) for s in text.split(",")], default=[1],
                        help="spacy-textcat: the seeds that also train spaCy's TextCatEnsemble (default 1)")
    parser.add_argument("--minutes", type=float, default=20.0,
                        help="conll2000: training minutes per side; spacy-*: the most minutes spaCy trains")
    parser.add_argument("--epochs", type=int, default=10, help="mr: epochs per side")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per side (the sides run at once)")
    parser.add_argument("--venv", default=str(ROOT / "runs" / "peers-venv"))
    parser.add_argument("--out", default=str(ROOT / "runs" / "peers"))
    parser.add_argument("--limit", type=int, help="the first N sentences or texts of each file only (smoke runs)")
    parser.add_argument("--json", help="write the results here too")
    parser.add_argument("--g2p-recipe", choices=sorted(G2P), default="bilstm-attn", help="g2p: seqlab's side")
    parser.add_argument("--dp-model", choices=("autoreg", "forward"), default="autoreg", help="g2p: DeepPhonemizer's")
    parser.add_argument("--dp-warmup", type=int, help="g2p: DeepPhonemizer's warm-up steps (default: its config's "
                        "10,000, about 40 minutes of one thread; the one setting tuned, where the budget is shorter)")
    parser.add_argument("--eole-warmup", type=int, default=4000,
                        help="multi30k: Eole's noam warm-up steps (default 4,000, its recipes')")
    parser.add_argument("--eole-checkpoint-steps", type=int, default=500, help="multi30k: steps between checkpoints")
    parser.add_argument("--decode-model", help="decode: seqlab's Multi30k Transformer (default: the one multi30k trained)")
    parser.add_argument("--seqlab-model", default=str(ROOT / "runs" / "peers" / "seqlab-mr-mr-bilstm-s1"),
                        help="spacy-infer: seqlab's MR classifier")
    parser.add_argument("--spacy-model", action="append",
                        help="spacy-infer: a trained spaCy MR pipeline (repeat; default: the ensemble and BOW models "
                             "spacy-textcat trained with seed 1)")
    parser.add_argument("--seqlab-points", type=lambda text: text.split(","), default=[],
                        help="ulmfit: seqlab's finished runs, LM_RUN:CLASSIFIER_RUN comma-separated")
    parser.add_argument("--fastai-lm-lines", type=int, default=12000,
                        help="ulmfit: the first N LM texts fastai reads (its one epoch sized to seqlab's LM time)")
    args = parser.parse_args()
    python = ensure_venv(Path(args.venv))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    run = {"conll2000": conll2000, "mr": mr, "spacy-textcat": spacy_textcat, "fasttext": fasttext_peer,
           "spacy-tagger": spacy_tagger, "spacy-infer": spacy_infer, "g2p": g2p,
           "multi30k": multi30k, "decode": decode, "ulmfit": ulmfit}[args.which]
    args.sets = args.sets or list(TAGGING if args.which == "spacy-tagger" else SETS)
    args.spacy_model = args.spacy_model or [str(out / f"spacy-mr-{arch}-s1" / "model-best") for arch in ("ensemble", "bow")]
    result = run(args, python, out)
    result.update(versions=versions(python), threads_per_side=args.threads, wall_seconds=time.perf_counter() - started,
                  date=time.strftime("%Y-%m-%d"))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
        if "sets" in result:
            plot(result, Path(args.json).with_suffix(".png"))
        elif args.which == "ulmfit":
            plot_ulmfit(result, Path(args.json).with_suffix(".png"))


if __name__ == "__main__":
    main()
