"""The dataset registry: ``seqlab data list`` shows it, a recipe's ``data.dataset`` names an entry.

The entries are declared in ``catalogue``, their files found, downloaded and verified by ``download``, and
turned into train/dev/test by the loaders in ``corpora``; this module ties them together. A program can add
its own entry with ``register(DatasetSpec(...))``.
"""

from __future__ import annotations

from .catalogue import CATALOGUE, DatasetSpec
from .download import DatasetError, locate, verify
from .splits import Splits

__all__ = ["REGISTRY", "DatasetError", "DatasetSpec", "Splits", "get_spec", "load_splits", "locate", "register", "verify"]

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
