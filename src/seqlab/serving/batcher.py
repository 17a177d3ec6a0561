"""Micro-batching: requests that arrive while the model is busy are gathered and run as one call.

A request to an idle model runs at once (no added latency for a lone client). While a batch runs, new
requests queue; when it ends, the queued requests with the same options run together as the next batch
(``Predictor.predict`` then buckets their texts by length), up to ``max_inputs`` texts, and each caller gets its
own outputs back, in order. ``window`` (seconds) is how long a queued request may wait for more company once the
model is free again (0 by default is enough: the gathering happens while the model is busy); ``enabled=False``
turns batching off: one forward per request, in arrival order. The model always runs in a worker thread, never
on the event loop.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from .base import BasePredictor


@dataclass
class _Request:
    texts: list[str]
    future: asyncio.Future


@dataclass
class _Queue:
    options: dict[str, Any]
    requests: list[_Request] = field(default_factory=list)


class Batcher:
    def __init__(self, predictor: BasePredictor, enabled: bool = True, window: float = 0.0,
                 max_inputs: int | None = None):
        self.predictor = predictor
        self.enabled, self.window = enabled, window
        self.max_inputs = max_inputs or predictor.limits.inputs
        self._queues: dict[str, _Queue] = {}
        self._busy = False
        self.batches = 0  # calls made to the model
        self.requests = 0

    async def predict(self, texts: list[str], options: dict[str, Any]) -> list[dict[str, Any]]:
        """The outputs for ``texts`` (already checked by the caller), computed alongside other callers' texts."""
        self.requests += 1
        key = json.dumps(options, sort_keys=True) if self.enabled else str(self.requests)
        queue = self._queues.setdefault(key, _Queue(options))
        future = asyncio.get_running_loop().create_future()
        queue.requests.append(_Request(texts, future))
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
                    batch.append(request)
                    size += len(request.texts)
                if not queue.requests:
                    del self._queues[key]
                await self._run(batch, queue.options)
        finally:
            self._busy = False

    async def _run(self, batch: list[_Request], options: dict[str, Any]) -> None:
        self.batches += 1
        flat = [t for request in batch for t in request.texts]
        try:
            outputs = await asyncio.to_thread(self.predictor.predict, flat, options)
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
