"""Tiny trained models of each task, trained once per test session (the ``models`` fixture in conftest.py), for
the inference, server, browser and export tests."""

from __future__ import annotations

import random
from pathlib import Path

import yaml

from seqlab.training.run import load_recipe, train


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def _train(root: Path, name: str, recipe: dict) -> Path:
    (root / f"{name}.yaml").write_text(yaml.safe_dump(recipe), encoding="utf-8")
    train(load_recipe(str(root / f"{name}.yaml")), root / name, progress=False)
    return root / name


def classification(root: Path) -> Path:
    return _train(root, "classifier", classification_recipe(root))


def classification_recipe(root: Path) -> dict:
    rng = random.Random(0)
    good, bad = ["fine", "great", "superb", "moving"], ["dull", "awful", "boring", "flat"]
    rows = ["text\tlabel"] + [f"a {rng.choice(good if i % 2 else bad)} film about {rng.choice(['love', 'war', 'dogs'])}\t"
                              f"{'pos' if i % 2 else 'neg'}" for i in range(200)]
    data = _write(root / "cls.tsv", "\n".join(rows) + "\n")
    return {
        "task": "classification", "data": {"train": data, "tokenizer": "whitespace", "max_length": 12},
        "model": {"name": "rnn_classifier", "embed_dim": 16, "hidden_size": 16},
        "train": {"epochs": 4, "batch_size": 16, "lr": 0.02, "patience": None, "log_every": 0}}


def tagging(root: Path) -> Path:
    return _train(root, "tagger", tagging_recipe(root))


def tagging_recipe(root: Path) -> dict:
    rng = random.Random(1)
    lines = []
    for _ in range(200):
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.5:
                words = rng.choice([["the", "dog"], ["a", "big", "cat"], ["The", "Man"]])
                lines += [f"{w} B-NP" if i == 0 else f"{w} I-NP" for i, w in enumerate(words)]
            else:
                lines.append(f"{rng.choice(['ran', 'sat', 'saw'])} B-VP")
        lines.append("")
    data = _write(root / "tags.conll", "\n".join(lines) + "\n")
    return {
        "task": "tagging", "data": {"train": data, "format": "conll"},
        "model": {"name": "tagger", "embed_dim": 16, "hidden_size": 16, "char_hidden": 8},
        "train": {"epochs": 5, "batch_size": 8, "lr": 0.01, "monitor": "f1", "patience": None, "log_every": 0}}


def language_model(root: Path) -> Path:
    return _train(root, "lm", language_model_recipe(root))


def language_model_recipe(root: Path) -> dict:
    text = "".join(f"to be or not to be {i % 7}\nthat is the question\n" for i in range(150))
    data = _write(root / "lm.txt", text)
    return {
        "task": "language_model", "data": {"train": data, "tokenizer": "character", "lowercase": False, "bptt": 16},
        "model": {"name": "rnn_lm", "embed_dim": 16, "hidden_size": 32, "num_layers": 1, "tie_weights": False},
        "train": {"epochs": 3, "batch_size": 8, "eval_batch_size": 4, "lr": 0.02, "monitor": "bpc",
                  "monitor_mode": "min", "patience": None, "log_every": 0}}


def seq2seq(root: Path, model: dict, name: str) -> Path:
    return _train(root, name, seq2seq_recipe(root, model))


def seq2seq_recipe(root: Path, model: dict) -> dict:
    rng = random.Random(2)
    rows = ["source\ttarget"]
    for _ in range(600):
        word = "".join(rng.choices("abcdefgh", k=rng.randint(2, 5)))
        rows.append(f"{word}\t{' '.join(reversed(word.upper()))}")
    data = _write(root / "pairs.tsv", "\n".join(rows[:501]) + "\n")
    dev = _write(root / "pairs-dev.tsv", "\n".join(rows[:1] + rows[501:]) + "\n")
    return {
        "task": "seq2seq", "data": {"train": data, "dev": dev, "test": dev, "text_field": "source", "label_field": "target",
                                    "tokenizer": "character", "target_tokenizer": "whitespace", "lowercase": False,
                                    "metric": "g2p", "beam": 3},
        "model": model,
        "train": {"epochs": 4, "batch_size": 32, "lr": 0.005, "monitor": "wer", "monitor_mode": "min",
                  "patience": None, "log_every": 0}}


def train_all(root: Path) -> dict[str, Path]:
    """Run directories: classifier, tagger, lm, seq2seq (GRU, dot attention), transformer."""
    return {
        "classifier": classification(root), "tagger": tagging(root), "lm": language_model(root),
        "seq2seq": seq2seq(root, {"name": "seq2seq", "embed_dim": 16, "hidden_size": 32, "attention": "dot",
                                  "cell": "gru", "input_feeding": True, "dropout": 0.0}, "seq2seq"),
        "transformer": seq2seq(root, {"name": "transformer", "d_model": 32, "heads": 2, "layers": 1, "d_ff": 64,
                                      "dropout": 0.0}, "transformer"),
    }
