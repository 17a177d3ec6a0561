"""Cooperative cancellation of inference, stdlib only (exported models decode without torch).

A server gives each request a ``Token``: cancelled when the client goes away, expired when its deadline
passes. Work runs inside ``scope(token)``; the decoding loops (sampling, beam search in torch and in numpy)
call ``check()`` once per step, which raises ``Cancelled`` there, so an abandoned generation stops within one
token instead of running to ``max_tokens``. Outside a scope ``check()`` costs one attribute read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Cancelled(Exception):
    """The request was cancelled (its client left) or ran past its deadline; ``timed_out`` says which."""

    def __init__(self, message: str, timed_out: bool = False):
        super().__init__(message)
        self.timed_out = timed_out


class Token:
    def __init__(self, timeout: float | None = None):
        self.deadline = time.monotonic() + timeout if timeout else None
        self.timeout = timeout
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def check(self) -> None:
        if self._cancelled.is_set():
            raise Cancelled("cancelled: the client went away")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise Cancelled(f"timed out: the request ran past {self.timeout:g} s (--request-timeout)", timed_out=True)


class AnyOf(Token):
    """The token of work done for several requests at once (a micro-batch): cancelled only when every one of
    them is, expired when the last deadline passes."""

    def __init__(self, tokens: list[Token]):
        super().__init__()
        self.tokens = tokens

    def check(self) -> None:
        if all(t.cancelled for t in self.tokens):
            raise Cancelled("cancelled: every client of the batch went away")
        deadlines = [t.deadline for t in self.tokens]
        if deadlines and None not in deadlines and time.monotonic() > max(deadlines):
            raise Cancelled(f"timed out: the request ran past {self.tokens[0].timeout:g} s (--request-timeout)",
                            timed_out=True)


_local = threading.local()


@contextmanager
def scope(token: Token | None) -> Iterator[None]:
    """Run the block with ``token`` as this thread's current one (``check()`` reads it)."""
    previous = getattr(_local, "token", None)
    _local.token = token
    try:
        yield
    finally:
        _local.token = previous


def check() -> None:
    """Raise ``Cancelled`` if this thread's current request was cancelled or is past its deadline."""
    token = getattr(_local, "token", None)
    if token is not None:
        token.check()
