"""seqlab.data.splits: one resolver, the task's policy for the splits a recipe does not give."""

from types import SimpleNamespace

import pytest

from seqlab.config import ConfigError
from seqlab.data.readers import TextExample
from seqlab.data.splits import resolve_splits

FILES = {name: [TextExample(f"{name} {i}", "a" if i % 2 else "b") for i in range(n)]
         for name, n in (("train.tsv", 100), ("dev.tsv", 7), ("test.tsv", 9))}


def cfg(**given):
    base = dict(train="train.tsv", dev=None, test=None, folds=10, fold=0, split_seed=1, dev_fraction=0.1)
    return SimpleNamespace(**{**base, **given})


def read(path):
    return list(FILES[path])


def test_fold_and_holdout_make_disjoint_splits_of_train():
    s = resolve_splits(cfg(), read, test="fold", dev="holdout")
    assert (len(s.train), len(s.dev), len(s.test)) == (81, 9, 10)
    texts = [e.text for part in (s.train, s.dev, s.test) for e in part]
    assert sorted(texts) == sorted(e.text for e in FILES["train.tsv"])  # nothing lost, nothing twice
    assert resolve_splits(cfg(), read, test="fold", dev="holdout").test == s.test  # seeded
    assert resolve_splits(cfg(fold=3), read).test != s.test


def test_given_files_are_used_as_they_are():
    s = resolve_splits(cfg(dev="dev.tsv", test="test.tsv"), read)
    assert (len(s.train), s.dev, s.test) == (100, FILES["dev.tsv"], FILES["test.tsv"])


def test_contiguous_cut_keeps_order_and_given_files_win():
    s = resolve_splits(cfg(), read, test="contiguous", dev="contiguous")
    assert [e.text for e in s.train + s.dev + s.test] == [e.text for e in FILES["train.tsv"]]
    assert (len(s.train), len(s.dev), len(s.test)) == (90, 5, 5)
    s = resolve_splits(cfg(test="test.tsv"), read, test="contiguous", dev="contiguous")
    assert s.test == FILES["test.tsv"] and len(s.dev) == 5


def test_empty_test_and_required_files():
    s = resolve_splits(cfg(), read, test="empty", dev="holdout")
    assert s.test == [] and len(s.train) + len(s.dev) == 100
    with pytest.raises(ConfigError, match=r"r.yaml: data.dev: this task needs a dev file of pairs"):
        resolve_splits(cfg(test="test.tsv"), read, "r.yaml", test="required", dev="required", what="pairs")
    with pytest.raises(ConfigError, match=r"r.yaml: data: give either dataset .* or a train file"):
        resolve_splits(cfg(train=None), read, "r.yaml")
