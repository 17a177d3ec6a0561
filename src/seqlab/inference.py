"""``seqlab.inference.load(model_dir)``: a predictor for a trained model of any task (``seqlab.serving.predictor``).

    >>> predictor = load("runs/quickstart")                  # doctest: +SKIP
    >>> predictor.predict("a fine film")[0]["label"]          # doctest: +SKIP
    'pos'
"""

from __future__ import annotations

from pathlib import Path

from .serving.predictor import Limits, Predictor

__all__ = ["Limits", "Predictor", "load"]


def load(model_dir: str | Path, limits: Limits = Limits(), name: str | None = None) -> Predictor:
    """The model in ``model_dir`` (a run directory or its ``model/``), ready for ``predict`` / ``stream``."""
    return Predictor(model_dir, limits, name)
