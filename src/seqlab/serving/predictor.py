"""``Predictor``: load a model directory once, then text → prediction. The CLI and a server share it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..data.readers import TextExample
from ..evaluation.evaluate import load_task
from ..tasks.classification import ClassificationTask


class Predictor:
    def __init__(self, model_dir: str | Path):
        self.artifact, self.task = load_task(model_dir)
        if not isinstance(self.task, ClassificationTask):
            raise ValueError(f"{model_dir}: predict serves classification models; this one is {self.task.name}")
        self.model = self.artifact.model.eval()

    @property
    def labels(self) -> list[str]:
        return self.task.labels

    @torch.no_grad()
    def predict(self, texts: list[str] | str, batch_size: int = 256) -> list[dict[str, Any]]:
        """One ``{"text", "label", "probability", "probabilities"}`` per text, in order (a single string is one
        text, not a sequence of characters)."""
        if isinstance(texts, str):
            texts = [texts]
        split = self.task.encode([TextExample(t) for t in texts])
        probs = self.task.probabilities(self.model, split, batch_size)
        out = []
        for text, row in zip(texts, probs.tolist()):
            best = max(range(len(row)), key=row.__getitem__)
            out.append({"text": text, "label": self.labels[best], "probability": row[best],
                        "probabilities": dict(zip(self.labels, row))})
        return out
