"""What every predictor shares, without torch (an exported model is served by onnxruntime alone): the limits,
the checks of inputs and options, and the model's name.

Inputs: a string or a list of strings, at most ``Limits.inputs`` of them; none empty (except where the model
says an empty text means something: a language model's prompt); none over ``Limits.input_tokens`` tokens of the
model's own tokenizer — refused with the count, not truncated; valid Unicode (no lone surrogates). Options: the
model's ``options()``, checked by ``seqlab.options.check_options``; a language model's ``max_tokens`` at most
``Limits.new_tokens``; at most ``Limits.stop_strings`` stop strings of ``Limits.stop_chars`` characters.

The cost of a request, checked against ``Limits.cost`` before any work starts (``--max-request-cost``), counts
the steps the model will take, summed over the texts: a text's tokens; for generation, the prompt's tokens plus
``max_tokens``; for beam search, ``beam`` × (2 × tokens + 5) decoder steps (the decoder's length limit is about
twice the source); × 32 with ``explain`` (integrated gradients' steps). One budget bounds time and memory for
every task alike: a 250 × 2,000-token tagging call (500,000) and a 2,000-character word at beam 256 (1,025,280)
are over the default 60,000; 32 prompts × 1,000 tokens (32,000) are under it, and the deadline bounds their time.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import cancel
from ..options import Option, check_options, valid_text


@dataclass(frozen=True)
class Limits:
    inputs: int = 256  # texts per call
    input_tokens: int = 2000  # tokens per text, by the model's tokenizer
    new_tokens: int = 1000  # a language model's max_tokens
    cost: int = 60_000  # model steps per request (module docstring)
    stop_strings: int = 16  # stop strings per request
    stop_chars: int = 200  # characters per stop string


EXPLAIN_STEPS = 32


def request_cost(token_counts: list[int], options: dict[str, Any]) -> int:
    """The steps a request will cost (module docstring), from each text's token count and the checked options."""
    factor = EXPLAIN_STEPS if options.get("explain") else 1
    if options.get("max_tokens"):
        return factor * sum(n + options["max_tokens"] for n in token_counts)
    if "beam" in options:
        beam = options.get("beam") or 1
        return factor * sum(n + beam * (2 * n + 5) for n in token_counts)
    return factor * sum(max(n, 1) for n in token_counts)


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

    def unservable(self) -> str | None:
        """Why the model cannot be used on plain text (a server refuses to start with it), or None."""
        return None

    @abstractmethod
    def input_tokens(self, text: str) -> list[str]:
        """The tokens the model reads from ``text`` (bounded by ``Limits.input_tokens``)."""

    def option_table(self) -> dict[str, Any]:
        return {name: {"type": o.kind.__name__, "default": o.default, "help": o.help,
                       **({"choices": list(o.choices)} if o.choices else {})} for name, o in self.options().items()}

    def limit_table(self) -> dict[str, int]:
        return dataclasses.asdict(self.limits)

    # ---------------------------------------------------------------- checks
    def check_inputs(self, inputs: str | list[str]) -> list[str]:
        return self._check_inputs(inputs)[0]

    def _check_inputs(self, inputs: str | list[str]) -> tuple[list[str], list[int]]:
        """(texts, their token counts), checked."""
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not all(isinstance(t, str) for t in inputs):
            raise ValueError("inputs: expected a string or a list of strings")
        if not inputs:
            raise ValueError("inputs: empty list; give at least one text")
        if len(inputs) > self.limits.inputs:
            raise LimitError(f"inputs: {len(inputs):,} texts, over the limit of {self.limits.inputs:,} per call")
        counts = []
        for i, text in enumerate(inputs):
            valid_text(text, f"inputs[{i}]")
            if not text.strip() and not self.empty_input_ok:
                raise ValueError(f"inputs[{i}]: empty text")
            n = len(self.input_tokens(text))
            if n > self.limits.input_tokens:
                raise LimitError(f"inputs[{i}]: {n:,} tokens, over the limit of {self.limits.input_tokens:,} per text; "
                                 "split it, or raise the limit (--max-input-tokens)")
            counts.append(n)
        return inputs, counts

    def check_options(self, options: dict[str, Any] | None) -> dict[str, Any]:
        if options is not None and not isinstance(options, dict):
            raise ValueError("options: expected an object of option names and values")
        checked = check_options(self.options(), options)
        if "max_tokens" in checked and "max_tokens" not in (options or {}):  # the default, within this server's limit
            checked["max_tokens"] = min(checked["max_tokens"], self.limits.new_tokens)
        if "max_tokens" in checked and checked["max_tokens"] > self.limits.new_tokens:
            raise LimitError(f"options.max_tokens: {checked['max_tokens']:,} is over the limit of "
                             f"{self.limits.new_tokens:,} generated tokens")
        stops = checked.get("stop") or []
        if len(stops) > self.limits.stop_strings:
            raise LimitError(f"options.stop: {len(stops):,} strings, over the limit of {self.limits.stop_strings}")
        for i, stop in enumerate(stops):
            if len(stop) > self.limits.stop_chars:
                raise LimitError(f"options.stop[{i}]: {len(stop):,} characters, over the limit of {self.limits.stop_chars}")
        return checked

    @property
    def default_beam(self) -> int | None:
        """A seq2seq model's beam width when a request names none."""
        return None

    def checked(self, inputs: str | list[str], options: Any, more: dict[str, Any] | None = None) -> tuple[list[str], dict[str, Any]]:
        """(texts, options) of a call, both checked, and their cost within ``Limits.cost``; ``more`` are keyword
        options given beside ``options``."""
        texts, counts = self._check_inputs(inputs)
        if options is not None and not isinstance(options, dict):
            raise ValueError("options: expected an object of option names and values")
        checked = self.check_options({**(options or {}), **(more or {})})
        costed = {**checked, "beam": checked.get("beam") or self.default_beam} if "beam" in checked else checked
        cost = request_cost(counts, costed)
        if cost > self.limits.cost:
            raise LimitError(f"request cost {cost:,} model steps is over the limit of {self.limits.cost:,} "
                             "(--max-request-cost): send fewer or shorter texts, a smaller beam or max_tokens")
        return texts, checked

    @staticmethod
    def stream_with(run: Callable[[Callable[[str], None]], dict[str, Any]],
                    token: cancel.Token | None = None) -> Iterator[dict[str, Any]]:
        """``run(on_text)`` in a worker thread, as events: ``{"text": piece}`` …, then ``{"result": …}`` (what
        ``run`` returned) or ``{"error": message}``. Closing the stream early (the client left) cancels the work
        at its next step; ``token`` carries a deadline (``{"error": "timed out …"}``)."""
        token = token or cancel.Token()
        events: queue.Queue = queue.Queue()

        def work() -> None:
            try:
                with cancel.scope(token):
                    events.put({"result": run(lambda piece: events.put({"text": piece}))})
            except cancel.Cancelled as err:
                events.put({"error": str(err), "timed_out": err.timed_out})
            except Exception as err:  # noqa: BLE001 — reported to the reader of the stream
                events.put({"error": str(err).splitlines()[0] if str(err) else type(err).__name__})

        threading.Thread(target=work, daemon=True).start()
        try:
            while True:
                event = events.get()
                yield event
                if "text" not in event:
                    return
        finally:
            token.cancel()  # the reader stopped (or finished): nothing more is wanted
