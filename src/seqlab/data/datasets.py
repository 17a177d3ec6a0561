"""The dataset registry: ``seqlab data list`` shows it, a recipe's ``data.dataset`` names an entry.

The entries are declared in ``catalogue``, their files found, downloaded and verified by ``download``, and
turned into train/dev/test by the loaders in ``corpora``; this module ties them together. A program can add
its own entry with ``register(DatasetSpec(...))``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .catalogue import CATALOGUE, DatasetSpec
from .download import DatasetError, locate, verify
from .readers import TextExample, stream_lines
from .splits import Splits

__all__ = ["REGISTRY", "DatasetError", "DatasetSpec", "Splits", "corpus_texts", "get_spec", "load_splits", "locate",
           "register", "verify"]

SPLITS = ("train", "dev", "test")

REGISTRY: dict[str, DatasetSpec] = {spec.name: spec for spec in CATALOGUE}


def register(spec: DatasetSpec) -> DatasetSpec:
    REGISTRY[spec.name] = spec
    return spec


def get_spec(name: str) -> DatasetSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise DatasetError(f"unknown dataset {name!r} (known: {', '.join(sorted(REGISTRY))})") from None


def load_splits(name: str, options: object, download: bool = True) -> Splits:
    """Train/dev/test examples and label names of a registry dataset; ``options`` is a recipe's data section."""
    spec = get_spec(name)
    return spec.load(locate(spec, download), options)


def corpus_splits(name: str) -> tuple[str, ...]:
    """The splits ``NAME:SPLIT`` may name for a registry dataset: train, dev, test and its text-only ones."""
    return (*SPLITS, *get_spec(name).texts)


def corpus_texts(source: str, options: object = None, download: bool = True) -> Iterator[str]:
    """The texts of a corpus, one at a time: a text file's lines (``.gz`` too; streamed), or a registry dataset's
    split as ``NAME`` (its training split) or ``NAME:SPLIT`` — train, dev, test, or a text-only split such as
    ``imdb:unsup`` (streamed from disk). Labels are never read; tagging corpora give their tokens joined by spaces."""
    if Path(source).is_file():
        yield from stream_lines(source)
        return
    name, _, split = source.partition(":")
    if name not in REGISTRY:
        raise DatasetError(f"{source}: neither a text file nor a dataset (see `seqlab data list`)")
    spec = get_spec(name)
    if split not in ("", *corpus_splits(name)):
        raise ValueError(f"{source}: the split must be one of {', '.join(corpus_splits(name))}, got {split!r}")
    if split in spec.texts:
        yield from spec.texts[split](locate(spec, download))
        return
    for ex in load_splits(name, options, download).get(split or "train"):
        yield ex.text if isinstance(ex, TextExample) else " ".join(ex.tokens)
