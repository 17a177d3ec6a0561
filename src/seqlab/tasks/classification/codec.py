"""Text classification without torch: a text → the token ids the model was trained on, a row of class
probabilities → the inference JSON. The torch task (``task.py``) and the exported model (onnxruntime,
``seqlab.serving.onnx_predictor``) both read and answer through it, so the two cannot drift apart.

    ids(text)     = vocab(tokenizer(text))[: max_length], or [<unk>] for an empty text
    output(text, p) = {"text", "label": argmax p, "probability": max p, "probabilities": {label: p_c},
                       "truncated": len(tokenizer(text)) > max_length}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...data.tokenizers import Tokenizer
from ...data.vocab import Vocab

RUNTIME = "classifier"  # how an export of this family runs (``seqlab.serving.onnx_predictor.RUNTIMES``)


class ClassificationCodec:
    def __init__(self, tokenizer: Tokenizer, vocab: Vocab, labels: Sequence[str], max_length: int | None = None):
        self.tokenizer, self.vocab, self.labels, self.max_length = tokenizer, vocab, list(labels), max_length

    @classmethod
    def from_files(cls, files: dict[str, Any], max_length: int | None = None) -> ClassificationCodec:
        """From a model directory's (or an export's) ``tokenizer``, ``vocab`` and ``labels`` files."""
        return cls(Tokenizer.from_dict(files["tokenizer"]), Vocab.from_dict(files["vocab"]), files["labels"], max_length)

    def tokens(self, text: str) -> list[str]:
        return self.tokenizer(text)

    def ids(self, text: str) -> list[int]:
        """Token ids, truncated to ``max_length``; an empty text becomes one ``<unk>``."""
        ids = self.vocab.encode(self.tokenizer(text))
        if self.max_length:
            ids = ids[: self.max_length]
        return ids or [self.vocab.unk_id]

    def truncated(self, text: str) -> bool:
        """Longer than ``max_length`` tokens: read only up to it, as in training."""
        return bool(self.max_length) and len(self.tokenizer(text)) > self.max_length

    def padded(self, rows: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Id rows as a padded int64 batch [B, T] and their lengths [B]."""
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        ids = np.full((len(rows), int(lengths.max()) if len(rows) else 0), self.vocab.pad_id, dtype=np.int64)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = r
        return ids, lengths

    def output(self, text: str, probabilities: Sequence[float]) -> dict[str, Any]:
        """The inference JSON of one text from its class probabilities (in ``labels`` order)."""
        row = [float(p) for p in probabilities]
        best = max(range(len(row)), key=row.__getitem__)
        return {"text": text, "label": self.labels[best], "probability": row[best],
                "probabilities": dict(zip(self.labels, row)), "truncated": self.truncated(text)}


def summary(result: dict[str, Any]) -> str:
    """label, probability and text, tab-separated."""
    return f"{result['label']}\t{result['probability']:.3f}\t{result['text']}"
