"""From a recipe's data section to train / dev / test, one resolver for every task.

A registry dataset brings its own splits (``seqlab.data.datasets``). Local files are read by the task's own
reader, one call per file, and the splits a recipe does not give are made by the task's policy:

* ``test``: ``"fold"`` — fold ``data.fold`` of ``data.folds`` after one shuffle seeded by ``data.split_seed``
  (Kim 2014's 10-fold cross-validation, one round); ``"contiguous"`` — the last 5% of the lines, in order (a
  language model's text stays contiguous); ``"empty"`` — no test split; ``"required"`` — the recipe must name it.
* ``dev``: ``"holdout"`` — ``data.dev_fraction`` of the training examples after one seeded shuffle;
  ``"contiguous"`` — the 5% before the test lines; ``"required"``.

Used by every task's reader of local files and by the registry's loaders (the datasets without an official
split: MR, SUBJ, CR, MPQA, TREC, IMDb, tiny Shakespeare).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..config import ConfigError
from .readers import TextExample

POLICIES = {"test": ("fold", "contiguous", "empty", "required"), "dev": ("holdout", "contiguous", "required")}


@dataclass(frozen=True)
class Splits:
    train: list[TextExample]
    dev: list[TextExample]
    test: list[TextExample]
    labels: list[str]
    # examples read but not used, by where ("before splitting", "train", ...) and why: {"train": {"beyond data.limit": 5}}
    dropped: dict[str, dict[str, int]] = field(default_factory=dict)

    def with_dropped(self, where: str, why: str, count: int) -> "Splits":
        """These splits, recording that ``count`` examples were dropped ``where`` because ``why``."""
        if count <= 0:
            return self
        dropped = {k: dict(v) for k, v in self.dropped.items()}
        dropped.setdefault(where, {})[why] = dropped.get(where, {}).get(why, 0) + count
        return replace(self, dropped=dropped)

    def limited(self, limit: int | None, eval_limit: int | None = None) -> "Splits":
        """The first ``limit`` training examples (``data.limit``) and the first ``eval_limit`` dev and test
        examples (``data.eval_limit``), the rest counted as dropped."""
        out = self
        for name, n, setting in (("train", limit, "data.limit"), ("dev", eval_limit, "data.eval_limit"),
                               ("test", eval_limit, "data.eval_limit")):
            examples = getattr(out, name)
            if n and len(examples) > n:
                out = replace(out, **{name: examples[:n]}).with_dropped(name, f"beyond {setting}", len(examples) - n)
        return out

    def get(self, split: str) -> list[TextExample]:
        if split not in ("train", "dev", "test"):
            raise ValueError(f"unknown split {split!r} (known: train, dev, test)")
        return getattr(self, split)


def _shuffled(examples: list[TextExample], seed: int) -> list[TextExample]:
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    return [examples[i] for i in order]


def fold_split(examples: list[TextExample], folds: int, fold: int, seed: int) -> tuple[list, list]:
    """(train, test) where test is fold ``fold`` of ``folds`` after one seeded shuffle."""
    if not 0 <= fold < folds:
        raise ValueError(f"data.fold must be in [0, {folds}), got {fold}")
    shuffled = _shuffled(examples, seed)
    test = shuffled[fold::folds]
    train = [ex for i, ex in enumerate(shuffled) if i % folds != fold]
    return train, test


def holdout(examples: list[TextExample], fraction: float, seed: int) -> tuple[list, list]:
    """(train, dev) with ``fraction`` of the examples held out after one seeded shuffle."""
    shuffled = _shuffled(examples, seed + 1)
    n_dev = int(round(len(shuffled) * fraction))
    return shuffled[n_dev:], shuffled[:n_dev]


def contiguous_split(lines: list[TextExample], dev: float = 0.05, test: float = 0.05) -> Splits:
    """Texts with no official split, cut in order (no shuffling: a language model's text stays contiguous):
    the first 1 − dev − test of the lines train, then dev, then test."""
    n = len(lines)
    a, b = round(n * (1 - dev - test)), round(n * (1 - test))
    return Splits(lines[:a], lines[a:b], lines[b:], [])


def resolve_splits(cfg: Any, read: Callable[[str], list], source: str = "<recipe>", *, test: str = "fold",
                   dev: str = "holdout", what: str = "examples") -> Splits:
    """Train / dev / test of local files (``cfg.train``, ``cfg.dev``, ``cfg.test``) read by ``read``; the
    missing ones made by the ``test`` and ``dev`` policies (module docstring). Labels are left to the task."""
    assert test in POLICIES["test"] and dev in POLICIES["dev"], (test, dev)
    if not cfg.train:
        raise ConfigError(f"{source}: data: give either dataset (see `seqlab data list`) or a train file of {what}")
    for name, policy in (("dev", dev), ("test", test)):
        if policy == "required" and not getattr(cfg, name):
            raise ConfigError(f"{source}: data.{name}: this task needs a {name} file of {what} (or a dataset)")
    train = read(cfg.train)
    given_dev = read(cfg.dev) if cfg.dev else None
    given_test = read(cfg.test) if cfg.test else None
    if "contiguous" in (test, dev) and (given_dev is None or given_test is None):
        cut = contiguous_split(train)
        train, cut_dev, cut_test = cut.train, cut.dev, cut.test
        return Splits(train, given_dev if given_dev is not None else cut_dev,
                      given_test if given_test is not None else cut_test, [])
    if given_test is None:
        if test == "fold":
            train, given_test = fold_split(train, cfg.folds, cfg.fold, cfg.split_seed)
        else:
            given_test = []
    if given_dev is None:
        train, given_dev = holdout(train, cfg.dev_fraction, cfg.split_seed)
    return Splits(train, given_dev, given_test, [])
