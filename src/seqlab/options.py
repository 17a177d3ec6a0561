"""Inference options: what a request may ask of a model (``Task.infer_options``), checked before it runs.

Stdlib only (an exported model is served without torch). ``check_options(specs, given)`` returns the options
completed with their defaults, or raises one ``ValueError`` naming the option: ``options.top_p: must be in
(0, 1], got 1.5``; ``options.beam: unknown option for this model (known: …)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Option:
    """One inference option: its JSON type, default, and the rule a value must meet (``check`` returns what is
    wrong, or None), e.g. ``Option(float, 1.0, "softmax temperature", positive)``."""

    kind: type  # bool, int, float, str or list (of str)
    default: Any
    help: str
    check: Callable[[Any], str | None] | None = None
    choices: tuple[str, ...] = ()


def at_least(low: float) -> Callable[[Any], str | None]:
    return lambda v: None if v >= low else f"must be at least {low:g}, got {v!r}"


def between(low: float, high: float) -> Callable[[Any], str | None]:
    return lambda v: None if low <= v <= high else f"must be in [{low:g}, {high:g}], got {v!r}"


def positive(v: float) -> str | None:
    return None if v > 0 else f"must be greater than 0, got {v!r}"


def unit_interval(v: float) -> str | None:
    return None if 0 < v <= 1 else f"must be in (0, 1], got {v!r}"


def check_options(specs: dict[str, Option], given: dict[str, Any] | None, where: str = "options") -> dict[str, Any]:
    """``given`` checked against ``specs`` and completed with defaults; a ValueError names the first bad option."""
    given = dict(given or {})
    unknown = sorted(set(given) - set(specs))
    if unknown:
        known = ", ".join(sorted(specs)) or "none"
        raise ValueError(f"{where}.{unknown[0]}: unknown option for this model (known: {known})")
    out = {}
    for name, spec in specs.items():
        value = given.get(name, spec.default)
        if value is None and name in given and spec.default is not None:
            raise ValueError(f"{where}.{name}: expected {_KINDS[spec.kind]}, got null (leave it out for the "
                             f"default, {json_value(spec.default)})")
        if value is not None and name in given:
            value = _coerce(value, spec, f"{where}.{name}")
            if spec.choices and value not in spec.choices:
                raise ValueError(f"{where}.{name}: must be one of {', '.join(spec.choices)}, got {value!r}")
            problem = spec.check(value) if spec.check else None
            if problem:
                raise ValueError(f"{where}.{name}: {problem}")
        out[name] = value
    return out


_KINDS = {bool: "true or false", int: "an integer", float: "a finite number", list: "a list of strings", str: "a string"}
MAX_INT = 2**63 - 1  # what torch and numpy take as a seed or a size


def json_value(value: Any) -> str:
    return "true" if value is True else "false" if value is False else repr(value)


def valid_text(text: str, where: str) -> str:
    """``text`` unless it holds a lone surrogate (JSON's "\\ud800"), which is not Unicode: a ValueError then."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(f"{where}: not valid Unicode (a lone surrogate at character {err.start})") from None
    return text


def _coerce(value: Any, spec: Option, where: str) -> Any:
    kind = spec.kind
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{where}: expected true or false, got {value!r}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where}: expected an integer, got {value!r}")
        if not -MAX_INT <= value <= MAX_INT:
            raise ValueError(f"{where}: {value} is out of range (at most {MAX_INT})")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{where}: expected a finite number, got {value!r}")
        return float(value)
    if kind is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{where}: expected a list of strings, got {str(value)[:60]}")
        return [valid_text(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected a string, got {str(value)[:60]!r}")
    return valid_text(value, where)


GENERATION: dict[str, Option] = {  # a language model's (seqlab.tasks.language_model; exported models too)
    "max_tokens": Option(int, 100, "tokens to generate at most", at_least(1)),
    "temperature": Option(float, 1.0, "softmax temperature", between(0.01, 100)),
    "top_k": Option(int, None, "sample only among the K most likely tokens", at_least(1)),
    "top_p": Option(float, None, "nucleus sampling: the smallest set of probability mass >= P", unit_interval),
    "greedy": Option(bool, False, "always take the most likely token"),
    "seed": Option(int, None, "random seed, for reproducible samples", between(0, 2**32 - 1)),
    "stop": Option(list, None, "stop before any of these strings"),
    "condition": Option(str, None, "conditional models: the label to generate for"),
    "eos_stop": Option(bool, True, "stop at <eos> (false: keep going, for word-level stream models)"),
}

MAX_BEAM = 256

SEQ2SEQ: dict[str, Option] = {  # a seq2seq model's (seqlab.tasks.seq2seq; exported models too)
    "beam": Option(int, None, "beam width (default: the recipe's data.beam)", between(1, MAX_BEAM)),
    "n_best": Option(int, 1, "hypotheses returned per input, best first (at most beam)", between(1, MAX_BEAM)),
    "penalty": Option(str, "average", "length normalisation ranking the hypotheses", choices=("none", "average", "gnmt")),
    "attention": Option(bool, False, "return each hypothesis's attention, as beam search kept it"),
}
