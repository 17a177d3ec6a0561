"""``seqlab.inference.load(model_dir)``: a predictor for a trained model of any task (``seqlab.serving.predictor``),
or for a classifier or tagger exported with ``seqlab export --format onnx`` (``seqlab.serving.onnx_predictor``, onnxruntime,
no torch).

    >>> predictor = load("runs/quickstart")                  # doctest: +SKIP
    >>> predictor.predict("a fine film")[0]["label"]          # doctest: +SKIP
    'pos'
"""

from __future__ import annotations

from pathlib import Path

from .serving.base import BasePredictor, Limits
from .serving.onnx_predictor import is_export, load_export

__all__ = ["Limits", "load"]


def load(model_dir: str | Path, limits: Limits = Limits(), name: str | None = None, device: str = "cpu",
         threads: int = 0) -> BasePredictor:
    """The model in ``model_dir`` (a run directory, its ``model/``, or an ONNX export), ready for ``predict``
    (and ``stream`` for language models); a trained model on ``device`` (cpu, cuda, mps, auto). ``threads`` > 0
    fixes the CPU threads a forward uses (torch's, or onnxruntime's intra-op pool)."""
    if is_export(model_dir):
        if device != "cpu":
            raise ValueError(f"--device {device}: an ONNX export runs on onnxruntime's CPU provider")
        return load_export(model_dir, limits, name, threads)
    from .serving.predictor import Predictor  # imports torch

    if threads:
        import torch

        torch.set_num_threads(threads)
    return Predictor(model_dir, limits, name, device)
