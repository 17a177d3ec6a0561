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
        if value is not None and name in given:
            value = _coerce(value, spec, f"{where}.{name}")
            if spec.choices and value not in spec.choices:
                raise ValueError(f"{where}.{name}: must be one of {', '.join(spec.choices)}, got {value!r}")
            problem = spec.check(value) if spec.check else None
            if problem:
                raise ValueError(f"{where}.{name}: {problem}")
        out[name] = value
    return out


def _coerce(value: Any, spec: Option, where: str) -> Any:
    kind = spec.kind
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{where}: expected true or false, got {value!r}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where}: expected an integer, got {value!r}")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{where}: expected a finite number, got {value!r}")
        return float(value)
    if kind is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{where}: expected a list of strings, got {value!r}")
        return value
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected a string, got {value!r}")
    return value


GENERATION: dict[str, Option] = {  # a language model's (seqlab.tasks.language_model; exported models too)
    "max_tokens": Option(int, 100, "tokens to generate at most", at_least(1)),
    "temperature": Option(float, 1.0, "softmax temperature", positive),
    "top_k": Option(int, None, "sample only among the K most likely tokens", at_least(1)),
    "top_p": Option(float, None, "nucleus sampling: the smallest set of probability mass >= P", unit_interval),
    "greedy": Option(bool, False, "always take the most likely token"),
    "seed": Option(int, None, "random seed, for reproducible samples"),
    "stop": Option(list, None, "stop before any of these strings"),
    "condition": Option(str, None, "conditional models: the label to generate for"),
    "eos_stop": Option(bool, True, "stop at <eos> (false: keep going, for word-level stream models)"),
}
