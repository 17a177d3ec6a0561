"""Micro-batching: requests that arrive while the model is busy are gathered and run as one call.

A request to an idle model runs at once (no added latency for a lone client). While a batch runs, new
requests queue; when it ends, the queued requests with the same options run together as the next batch
(``Predictor.predict`` then buckets their texts by length), up to ``max_inputs`` texts, and each caller gets its
own outputs back, in order. ``window`` (seconds) is how long a queued request may wait for more company once the
model is free again (0 by default is enough: the gathering happens while the model is busy); ``enabled=False``
turns batching off: one forward per request, in arrival order. The model always runs in the batcher's own
worker thread (one per model), never on the event loop and never in a pool another model or ``explain`` shares.

Back-pressure: at most ``max_waiting`` requests wait per model; one more raises ``QueueFull`` (the server
answers 503 with Retry-After). Each request carries a ``cancel.Token``; a batch is cancelled at its next step
when every request in it has been (``cancel.AnyOf``), and a request whose client left is dropped from the queue.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .. import cancel
from .base import BasePredictor


class QueueFull(RuntimeError):
    """Too many requests wait for this model (the server answers 503 with Retry-After)."""


@dataclass
class _Request:
    texts: list[str]
    future: asyncio.Future
    token: cancel.Token


@dataclass
class _Queue:
    options: dict[str, Any]
    requests: list[_Request] = field(default_factory=list)


class Batcher:
    def __init__(self, predictor: BasePredictor, enabled: bool = True, window: float = 0.0,
                 max_inputs: int | None = None, max_waiting: int = 64, on_batch: Callable[[int], None] | None = None):
        self.predictor = predictor
        self.enabled, self.window = enabled, window
        self.max_inputs = max_inputs or predictor.limits.inputs
        self.max_waiting = max_waiting
        self._queues: dict[str, _Queue] = {}
        self._busy = False
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"seqlab-{predictor.name}")
        self.batches = 0  # calls made to the model
        self.requests = 0
        self.on_batch = on_batch  # told each batch's number of texts (the server's /metrics)

    @property
    def waiting(self) -> int:
        return sum(len(q.requests) for q in self._queues.values())

    async def predict(self, texts: list[str], options: dict[str, Any],
                      token: cancel.Token | None = None) -> list[dict[str, Any]]:
        """The outputs for ``texts`` (already checked by the caller), computed alongside other callers' texts."""
        if self.waiting >= self.max_waiting:
            raise QueueFull(f"{self.waiting} requests are waiting for model {self.predictor.name}; retry shortly")
        self.requests += 1
        key = json.dumps(options, sort_keys=True) if self.enabled else str(self.requests)
        queue = self._queues.setdefault(key, _Queue(options))
        future = asyncio.get_running_loop().create_future()
        queue.requests.append(_Request(texts, future, token or cancel.Token()))
        if not self._busy:
            self._busy = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        """Run queued batches one after another until nothing is left."""
        try:
            while self._queues:
                if self.window > 0:
                    await asyncio.sleep(self.window)
                key = next(iter(self._queues))
                queue = self._queues[key]
                batch, size = [], 0
                while queue.requests and (not batch or size + len(queue.requests[0].texts) <= self.max_inputs):
                    request = queue.requests.pop(0)
                    if request.token.cancelled or request.future.done():
                        continue  # its client left while it waited
                    batch.append(request)
                    size += len(request.texts)
                if not queue.requests:
                    del self._queues[key]
                if batch:
                    await self._run(batch, queue.options)
        finally:
            self._busy = False

    async def _run(self, batch: list[_Request], options: dict[str, Any]) -> None:
        self.batches += 1
        flat = [t for request in batch for t in request.texts]
        if self.on_batch:
            self.on_batch(len(flat))
        token = cancel.AnyOf([request.token for request in batch])

        def work() -> list[dict[str, Any]]:
            with cancel.scope(token):
                return self.predictor.predict(flat, options)

        try:
            outputs = await asyncio.get_running_loop().run_in_executor(self._pool, work)
        except Exception as err:  # noqa: BLE001 — handed to every caller of the batch
            for request in batch:
                if not request.future.done():
                    request.future.set_exception(err)
            return
        at = 0
        for request in batch:
            if not request.future.done():
                request.future.set_result(outputs[at:at + len(request.texts)])
            at += len(request.texts)
