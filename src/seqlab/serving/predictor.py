"""One predictor for every task: load a run or model directory once, then texts → JSON-serialisable dicts.

    predictor = seqlab.inference.load("runs/quickstart")
    predictor.predict(["a fine film"])                      # classification: label, probability, probabilities
    predictor.predict(["The cat sat"])                      # tagging: tokens, tags, spans with character offsets
    predictor.predict(["ROMEO:"], {"max_tokens": 50})       # language model: the continuation
    predictor.predict(["hello"], {"n_best": 3, "beam": 5})  # seq2seq: n-best with scores (and attention)
    for event in predictor.stream("ROMEO:"): ...            # language model: {"text": piece} …, then {"result": …}

The task computes the results (``Task.infer``); this module checks what comes in first, so the CLI, Python and
HTTP give the same answers and the same errors. Inputs: a string or a list of strings, at most
``Limits.inputs`` of them; none empty (except a language model's prompt); none over ``Limits.input_tokens``
tokens of the model's own tokenizer — refused, not truncated, with the count (a BiLSTM reads a 260,000-token
line in 30 s and 2.8 GB). A classifier longer than its recipe's ``data.max_length`` reads the first
``max_length`` tokens, as in training, and says ``"truncated": true``. Options: the task's ``infer_options``
(``explain`` too, for classifiers with a word embedding: integrated-gradients attributions per token, with the
``explain`` extra), and a language model's ``max_tokens`` at most ``Limits.new_tokens``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from .. import cancel, runtime
from ..models.registry import has_word_embedding
from ..tasks import load_task
from ..options import Option
from .base import BasePredictor, LimitError, Limits, default_name  # noqa: F401  (LimitError, for callers)

EXPLAIN = Option(bool, False, "integrated-gradients attribution of each token (needs the explain extra)")


class Predictor(BasePredictor):
    def __init__(self, model_dir: str | Path, limits: Limits = Limits(), name: str | None = None, device: str = "cpu"):
        self.path = Path(model_dir)
        self.artifact, self.task = load_task(model_dir)
        self.model = self.artifact.model.eval().to(runtime.device(device))
        self.limits = limits
        self.name = name or default_name(model_dir)
        self.empty_input_ok = self.task.empty_input_ok
        self._lock = threading.Lock()  # one forward at a time: a server calls from several threads
        self.explains = has_word_embedding(self.model)

    @property
    def task_name(self) -> str:
        return self.task.name

    @property
    def default_beam(self) -> int | None:
        """A seq2seq model's beam width when a request names none (the recipe's ``data.beam``)."""
        return self.task.beam

    @property
    def labels(self) -> list[str] | None:
        return self.task.output_labels()

    def input_tokens(self, text: str) -> list[str]:
        return self.task.input_tokens(text)

    def unservable(self) -> str | None:
        return self.task.text_input_problem()

    def options(self) -> dict[str, Option]:
        specs = dict(self.task.infer_options)
        if self.task.explainable and self.explains:
            specs["explain"] = EXPLAIN
        return specs

    def describe(self) -> dict[str, Any]:
        """Name, task, labels, sizes, a summary of the recipe and the options a request may give."""
        recipe = self.artifact.recipe
        data = recipe.get("data") or {}
        return {
            "name": self.name, "task": self.task_name, "labels": self.labels,
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "vocab_size": len(self.task.vocab) if self.task.vocab is not None else None,
            "model": self.artifact.model_config.get("name"),
            "data": data.get("dataset") or data.get("train"),
            "runtime": "torch", "options": self.option_table(), "limits": self.limit_table(),
        }

    # ---------------------------------------------------------------- inference
    @torch.no_grad()
    def predict(self, inputs: str | list[str], options: dict[str, Any] | None = None, **more: Any) -> list[dict[str, Any]]:
        """One result per input, in order (a single string is one input); ``options`` / keywords: ``options()``."""
        texts, checked = self.checked(inputs, options, more)
        explain = checked.pop("explain", False)
        with self._lock:
            results = self.task.infer(self.model, texts, checked)
            if explain:
                for text, result in zip(texts, results):
                    result["attributions"] = self._attributions(text)
        return results

    def _attributions(self, text: str) -> list[dict[str, Any]]:
        from ..evaluation.explain import explain

        inputs = self.task.explain_inputs(text)
        with torch.enable_grad():
            found = explain(self.model, **inputs, methods=("integrated_gradients",), steps=32)
        scores = found["attributions"]["integrated_gradients"]
        return [{"token": token, "score": score} for token, score in zip(found["tokens"], scores)]

    def stream(self, text: str, options: dict[str, Any] | None = None,
               token: cancel.Token | None = None) -> Iterator[dict[str, Any]]:
        """A language model's continuation as it is produced: ``{"text": piece}`` events, then ``{"result": …}``
        (the same dict ``predict`` returns), or ``{"error": message}``. Inputs and options are checked at the
        call, before the first event."""
        if not self.task.streams:
            raise ValueError(f"a {self.task_name} model does not stream; use predict")
        (prompt,), checked = self.checked([text], options)

        def run(on_text):
            with self._lock, torch.no_grad():
                return self.task.infer_stream(self.model, prompt, checked, on_text)

        return self.stream_with(run, token)
