"""What every predictor shares, without torch (an exported model is served by onnxruntime alone): the limits,
the checks of inputs and options, and the model's name.

Inputs: a string or a list of strings, at most ``Limits.inputs`` of them; none empty (except where the model
says an empty text means something: a language model's prompt); none over ``Limits.input_tokens`` tokens of the
model's own tokenizer — refused with the count, not truncated. Options: the model's ``options()``, checked by
``seqlab.options.check_options``; a language model's ``max_tokens`` at most ``Limits.new_tokens``.
"""

from __future__ import annotations

import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..options import Option, check_options


@dataclass(frozen=True)
class Limits:
    inputs: int = 256  # texts per call
    input_tokens: int = 2000  # tokens per text, by the model's tokenizer
    new_tokens: int = 1000  # a language model's max_tokens


class LimitError(ValueError):
    """A request over one of the ``Limits`` (a server answers 413)."""


def default_name(model_dir: str | Path) -> str:
    """A model's name: its run directory's name (``runs/quickstart/model`` → ``quickstart``)."""
    path = Path(model_dir).resolve()
    return path.parent.name if path.name == "model" else path.name


class BasePredictor(ABC):
    """Subclasses set ``limits``, ``name``, ``task_name`` and ``empty_input_ok`` and define ``input_tokens(text)``
    (and ``options()`` when the model takes any)."""

    limits: Limits
    name: str
    empty_input_ok: bool = False

    def options(self) -> dict[str, Option]:
        return {}

    @abstractmethod
    def input_tokens(self, text: str) -> list[str]:
        """The tokens the model reads from ``text`` (bounded by ``Limits.input_tokens``)."""

    def option_table(self) -> dict[str, Any]:
        return {name: {"type": o.kind.__name__, "default": o.default, "help": o.help,
                       **({"choices": list(o.choices)} if o.choices else {})} for name, o in self.options().items()}

    def limit_table(self) -> dict[str, int]:
        return {"inputs": self.limits.inputs, "input_tokens": self.limits.input_tokens, "new_tokens": self.limits.new_tokens}

    # ---------------------------------------------------------------- checks
    def check_inputs(self, inputs: str | list[str]) -> list[str]:
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not all(isinstance(t, str) for t in inputs):
            raise ValueError("inputs: expected a string or a list of strings")
        if not inputs:
            raise ValueError("inputs: empty list; give at least one text")
        if len(inputs) > self.limits.inputs:
            raise LimitError(f"inputs: {len(inputs):,} texts, over the limit of {self.limits.inputs:,} per call")
        for i, text in enumerate(inputs):
            if not text.strip() and not self.empty_input_ok:
                raise ValueError(f"inputs[{i}]: empty text")
            n = len(self.input_tokens(text))
            if n > self.limits.input_tokens:
                raise LimitError(f"inputs[{i}]: {n:,} tokens, over the limit of {self.limits.input_tokens:,} per text; "
                                 "split it, or raise the limit (--max-input-tokens)")
        return inputs

    def check_options(self, options: dict[str, Any] | None) -> dict[str, Any]:
        if options is not None and not isinstance(options, dict):
            raise ValueError("options: expected an object of option names and values")
        checked = check_options(self.options(), options)
        if "max_tokens" in checked and checked["max_tokens"] > self.limits.new_tokens:
            raise LimitError(f"options.max_tokens: {checked['max_tokens']:,} is over the limit of "
                             f"{self.limits.new_tokens:,} generated tokens")
        return checked

    def checked(self, inputs: str | list[str], options: Any, more: dict[str, Any] | None = None) -> tuple[list[str], dict[str, Any]]:
        """(texts, options) of a call, both checked; ``more`` are keyword options given beside ``options``."""
        texts = self.check_inputs(inputs)
        if options is not None and not isinstance(options, dict):
            raise ValueError("options: expected an object of option names and values")
        return texts, self.check_options({**(options or {}), **(more or {})})

    @staticmethod
    def stream_with(run: Callable[[Callable[[str], None]], dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """``run(on_text)`` in a worker thread, as events: ``{"text": piece}`` …, then ``{"result": …}`` (what
        ``run`` returned) or ``{"error": message}``."""
        events: queue.Queue = queue.Queue()

        def work() -> None:
            try:
                events.put({"result": run(lambda piece: events.put({"text": piece}))})
            except Exception as err:  # noqa: BLE001 — reported to the reader of the stream
                events.put({"error": str(err)})

        threading.Thread(target=work, daemon=True).start()
        while True:
            event = events.get()
            yield event
            if "text" not in event:
                return
