"""Micro-batching: concurrent requests to one model, gathered for up to ``window`` seconds, run as one call.

Requests with the same options join one batch (``Predictor.predict`` then buckets the texts by length); each
caller gets back its own outputs, in order. A batch closes early when it holds ``max_inputs`` texts. The model
runs in a worker thread, never on the event loop; one batch runs at a time per model, the next gathering
meanwhile. ``window = 0`` turns it off: one forward per request (still off the loop).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from .base import BasePredictor as Predictor


@dataclass
class _Pending:
    options: dict[str, Any]
    texts: list[list[str]] = field(default_factory=list)
    futures: list[asyncio.Future] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(len(t) for t in self.texts)


class Batcher:
    def __init__(self, predictor: Predictor, window: float = 0.005, max_inputs: int | None = None):
        self.predictor = predictor
        self.window = window
        self.max_inputs = max_inputs or predictor.limits.inputs
        self._open: dict[str, _Pending] = {}
        self.batches = 0  # calls made to the model, for the load benchmark
        self.requests = 0

    async def predict(self, texts: list[str], options: dict[str, Any]) -> list[dict[str, Any]]:
        """The outputs for ``texts`` (already checked by the caller), computed with other callers' texts."""
        self.requests += 1
        if self.window <= 0:
            self.batches += 1
            return await asyncio.to_thread(self.predictor.predict, texts, options)
        key = json.dumps(options, sort_keys=True)
        pending = self._open.get(key)
        if pending is None or pending.size + len(texts) > self.max_inputs:
            if pending is not None:
                self._close(key)
            pending = self._open[key] = _Pending(options)
            asyncio.get_running_loop().call_later(self.window, self._close, key, pending)
        future = asyncio.get_running_loop().create_future()
        pending.texts.append(texts)
        pending.futures.append(future)
        if pending.size >= self.max_inputs:
            self._close(key)
        return await future

    def _close(self, key: str, which: _Pending | None = None) -> None:
        pending = self._open.get(key)
        if pending is None or (which is not None and pending is not which):
            return  # already closed (full, or replaced)
        del self._open[key]
        asyncio.get_running_loop().create_task(self._run(pending))

    async def _run(self, pending: _Pending) -> None:
        flat = [t for texts in pending.texts for t in texts]
        self.batches += 1
        try:
            outputs = await asyncio.to_thread(self.predictor.predict, flat, pending.options)
        except Exception as err:  # noqa: BLE001 — handed to every caller of the batch
            for future in pending.futures:
                if not future.done():
                    future.set_exception(err)
            return
        at = 0
        for texts, future in zip(pending.texts, pending.futures):
            if not future.done():
                future.set_result(outputs[at:at + len(texts)])
            at += len(texts)
