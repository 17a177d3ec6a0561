"""A classifier exported by ``seqlab export --format onnx``, run by onnxruntime without importing torch.

Reads ``export.json`` (tokenizer, vocabulary, labels, ``max_length``) and ``model.onnx``; answers with the same
dicts as the torch predictor (``ClassificationTask.infer``): ``{"text", "label", "probability",
"probabilities", "truncated"}``. Texts are tokenised and padded here, in numpy, as in training.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np

from .. import metrics
from ..data.tokenizers import Tokenizer
from ..data.vocab import Vocab
from .base import BasePredictor, Limits, default_name

EXPORT_JSON, ONNX_FILE = "export.json", "model.onnx"


def is_export(path: str | Path) -> bool:
    return (Path(path) / EXPORT_JSON).is_file()


class OnnxPredictor(BasePredictor):
    def __init__(self, export_dir: str | Path, limits: Limits = Limits(), name: str | None = None, threads: int = 0):
        try:
            import onnxruntime as ort
        except ImportError:
            raise ValueError("running an exported model needs onnxruntime: pip install 'seqlab[onnx]'") from None
        self.path = Path(export_dir)
        try:
            self.meta = json.loads((self.path / EXPORT_JSON).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ValueError(f"{self.path / EXPORT_JSON}: not a readable export description ({err})") from None
        if self.meta.get("format") != "onnx" or self.meta.get("task") != "classification":
            raise ValueError(f"{self.path / EXPORT_JSON}: expected an ONNX classifier export, got format "
                             f"{self.meta.get('format')!r}, task {self.meta.get('task')!r}")
        files = self.meta["files"]
        self.tokenizer = Tokenizer.from_dict(files["tokenizer"])
        self.vocab = Vocab.from_dict(files["vocab"])
        self.labels = list(files["labels"])
        self.max_length = self.meta.get("max_length")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(self.path / ONNX_FILE), options, providers=["CPUExecutionProvider"])
        self.limits = limits
        self.name = name or default_name(export_dir)
        self.task_name = "classification"
        self._lock = threading.Lock()

    def input_tokens(self, text: str) -> list[str]:
        return self.tokenizer(text)

    def describe(self) -> dict[str, Any]:
        data = self.meta.get("data") or {}
        return {"name": self.name, "task": self.task_name, "labels": self.labels, "parameters": None,
                "vocab_size": len(self.vocab), "model": self.meta.get("model"),
                "data": data.get("dataset") or data.get("train"),
                "runtime": "onnxruntime" + (" int8" if self.meta.get("int8") else ""),
                "options": self.option_table(), "limits": self.limit_table()}

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        rows = []
        for text in texts:
            ids = self.vocab.encode(self.tokenizer(text))
            if self.max_length:
                ids = ids[: self.max_length]
            rows.append(ids or [self.vocab.unk_id])
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        ids = np.full((len(rows), int(lengths.max())), self.vocab.pad_id, dtype=np.int64)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = r
        return ids, lengths

    def probabilities(self, texts: list[str], batch_size: int = 256) -> np.ndarray:
        out = []
        order = sorted(range(len(texts)), key=lambda i: len(self.tokenizer(texts[i])))  # length buckets
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            ids, lengths = self.encode([texts[i] for i in index])
            with self._lock:
                (probs,) = self.session.run(["probabilities"], {"ids": ids, "lengths": lengths})
            out.extend(zip(index, probs))
        return np.stack([p for _, p in sorted(out, key=lambda x: x[0])])

    def predict(self, inputs: str | list[str], options: dict[str, Any] | None = None, **more: Any) -> list[dict[str, Any]]:
        texts = self.check_inputs(inputs)
        if options is not None and not isinstance(options, dict):
            raise ValueError("options: expected an object of option names and values")
        self.check_options({**(options or {}), **more})
        results = []
        for text, row in zip(texts, self.probabilities(texts).tolist()):
            best = max(range(len(row)), key=row.__getitem__)
            results.append({"text": text, "label": self.labels[best], "probability": row[best],
                            "probabilities": dict(zip(self.labels, row)),
                            "truncated": bool(self.max_length) and len(self.tokenizer(text)) > self.max_length})
        return results

    def evaluate(self, texts: list[str], labels: list[str], batch_size: int = 256) -> dict[str, Any]:
        """Accuracy and macro-F1 on labelled texts, as ``ClassificationTask.evaluate`` computes them."""
        unknown = sorted(set(labels) - set(self.labels))
        if unknown:
            raise ValueError(f"label {unknown[0]!r} was not seen in training (known: {', '.join(self.labels)})")
        predicted = self.probabilities(texts, batch_size).argmax(-1).tolist() if texts else []
        gold = [self.labels.index(label) for label in labels]
        report = metrics.classification_report(gold, predicted, self.labels)
        return {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"], "n": len(texts)}
