"""The fastText side of ``peers.py`` (runs in the peers' venv): ``fasttext.train_supervised`` on the files
``peers.py`` wrote (``train.tsv``, ``test.tsv``, ``label<TAB>text`` with a header), preprocessed as fastText's text
classification tutorial does (lower case, punctuation apart), one thread.

Settings (``--setting``):
* ``default``: fastText's defaults with word bigrams, ``wordNgrams=2`` (lr 0.1, 5 epochs, dim 100);
* ``tutorial``: the tutorial's tuned line, ``lr=1.0, epoch=25, wordNgrams=2``.

Writes one JSON line: training seconds and the predicted test labels (scored by ``peers.py`` with seqlab's metric).

    python peers_fasttext.py --data DIR --setting tutorial --seed 1 --log out.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

from peer_files import read_tsv

SETTINGS = {"default": {"wordNgrams": 2}, "tutorial": {"lr": 1.0, "epoch": 25, "wordNgrams": 2}}


def normalise(text: str) -> str:
    """The tutorial's ``sed -e "s/\\([.\\!?,'/()]\\)/ \\1 /g" | tr "[:upper:]" "[:lower:]"``."""
    return " ".join(re.sub(r"([.!?,'/()])", r" \1 ", text).lower().split())


def main() -> None:
    import fasttext

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--setting", choices=sorted(SETTINGS), default="default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log", required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    folder = Path(args.data)
    train_file = Path(args.log).with_suffix(".train.txt")
    train_file.write_text("".join(f"__label__{label} {normalise(text)}\n"
                                  for label, text in read_tsv(folder / "train.tsv")), encoding="utf-8")
    started = time.perf_counter()
    model = fasttext.train_supervised(input=str(train_file), thread=args.threads, seed=args.seed, verbose=0,
                                      **SETTINGS[args.setting])
    seconds = time.perf_counter() - started
    texts = [normalise(text) for _, text in read_tsv(folder / "test.tsv")]
    started = time.perf_counter()
    labels, _ = model.predict(texts)
    predict_seconds = time.perf_counter() - started
    pred = [found[0][len("__label__"):] for found in labels]
    record = {"setting": args.setting, **SETTINGS[args.setting], "train_seconds": seconds,
              "predict_seconds": predict_seconds, "pred": pred}
    Path(args.log).write_text(json.dumps(record) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in record.items() if k != "pred"}))


if __name__ == "__main__":
    main()
