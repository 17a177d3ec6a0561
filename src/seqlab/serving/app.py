"""``seqlab serve``'s HTTP API (FastAPI), the web page at ``/`` and the OpenAPI schema at ``/openapi.json``.

    GET  /health                  liveness: {"status": "ok", "models": [...]}, never waits on a model
    GET  /ready                   readiness: 200 {"status": "ready"} while serving, 503 while draining
    GET  /metrics                 Prometheus text: requests, latency, batch sizes, queue depth, tokens generated
    GET  /models                  each model's name, task, labels, sizes, recipe summary, options, limits
    POST /v1/{model}/predict      {"inputs": [...], "options": {...}}  →  {"outputs": [...]}, one per input, in order
    POST /v1/{model}/generate     {"input": "...", "options": {...}}  →  server-sent events: ``token`` {"text"} …,
                                  then ``done`` {the predict output} (or ``error`` {"error"})

Every error is JSON ``{"error": "one line"}``: 400 (a Host this server does not answer to), 401 (no or a wrong
API key, ``Authorization: Bearer KEY``, the scheme in any case), 404, 405, 408 (a body not sent within
``body_timeout``), 413 (a body over ``max_body`` bytes, or a request over a limit or over its cost: see
``serving.base``), 415 (a body that is not ``application/json``), 422 (a malformed request or a bad value), 503
with ``Retry-After`` (too many requests waiting for a model, or draining), 504 (past ``request_timeout``); a 500
is a bug and names the request id. What runs where:

* The key and the route are checked before any body is read (``serving.guard``, plain ASGI); then the body is read within ``body_timeout``
  seconds and ``max_body`` bytes.
* Each model has its own worker thread for ``/predict`` (micro-batched: ``serving.batcher``), a bounded queue, and
  ``explain`` its own single thread with its own bound; generation streams wait in their own pool. A flood on one
  model never blocks ``/health`` or another model.
* Each request has a deadline (``request_timeout``) and is cancelled at the next decoding step when its client
  disconnects (``seqlab.cancel``).
* Every response carries ``X-Request-ID`` (the client's, if it sent a sane one), ``X-Content-Type-Options:
  nosniff`` and ``X-Frame-Options: DENY``; the page also a Content-Security-Policy. One access-log line per request.
"""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import cancel
from .base import BasePredictor, LimitError
from .batcher import Batcher, QueueFull
from .guard import LOOPBACK_HOSTS, Guard, authorised  # noqa: F401  (LOOPBACK_HOSTS, authorised: for callers)
from .metrics import ServerMetrics



EXPLAIN_WAITING = 4  # explain requests running or waiting at most (one runs at a time): more get 503 at once


class PredictRequest(BaseModel):
    inputs: list[str] | str = Field(description="texts (or one text); a language model's prompts")
    options: dict[str, Any] = Field(default_factory=dict, description="the model's inference options (GET /models)")


class GenerateRequest(BaseModel):
    input: str = Field("", description="the prompt")
    options: dict[str, Any] = Field(default_factory=dict)


class PredictResponse(BaseModel):
    outputs: list[dict[str, Any]]


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        self.status, self.message, self.headers = status, message, headers or {}


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def page() -> str:
    return resources.files("seqlab.serving").joinpath("static/index.html").read_text(encoding="utf-8")


def install_error_handlers(app: FastAPI) -> None:
    """Every error answers ``{"error": one line}`` with its status: ours, routing's (404, 405) and malformed bodies."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, err: ApiError) -> JSONResponse:
        return _error(err.status, err.message, err.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        message = {404: "no such route (see /docs)", 405: f"method {request.method} is not allowed here"}.get(
            err.status_code, str(err.detail))
        return _error(err.status_code, message, getattr(err, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Request, err: RequestValidationError) -> JSONResponse:
        first = err.errors()[0] if err.errors() else {"loc": (), "msg": "malformed request"}
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "body") or "body"
        return _error(422, f"{where}: {first.get('msg', 'invalid')}"[:300])


def busy_error(message: str) -> ApiError:
    return ApiError(503, message, {"Retry-After": "1"})


class Serving:
    """What the routes share: the models, their batchers, the worker pools, what is running (to bound it and to
    stop it at shutdown) and the metrics. Each route is one method."""

    def __init__(self, predictors: list[BasePredictor], batching: bool, batch_window: float,
                 request_timeout: float | None, max_waiting: int):
        self.models = {p.name: p for p in predictors}
        if len(self.models) != len(predictors):
            raise ValueError("two models share a name; give each directory a distinct name (NAME=DIR)")
        self.metrics = ServerMetrics(list(self.models))
        self.batchers = {name: Batcher(p, batching, batch_window, max_waiting=max_waiting,
                                       on_batch=lambda n, name=name: self.metrics.batch(name, n))
                         for name, p in self.models.items()}
        for name, batcher in self.batchers.items():
            self.metrics.queue_depth(name, lambda b=batcher: b.waiting)
        self.explain_pool = ThreadPoolExecutor(1, thread_name_prefix="seqlab-explain")
        self.stream_pool = ThreadPoolExecutor(max(4, max_waiting), thread_name_prefix="seqlab-stream")
        self.request_timeout, self.max_waiting = request_timeout, max_waiting
        self.explaining = 0
        self.streams = {name: 0 for name in self.models}
        self.active: set[cancel.Token] = set()
        self.draining = False

    def drain(self) -> None:
        """SIGTERM: /ready says so; work still running stops at its next step."""
        self.draining = True
        for token in list(self.active):
            token.cancel()

    def model(self, name: str) -> BasePredictor:
        if name not in self.models:
            raise ApiError(404, f"no model {name[:80]!r} (serving: {', '.join(self.models)})")
        return self.models[name]

    async def watch(self, request: Request, work: asyncio.Future, token: cancel.Token):
        """``work``'s result; cancels ``token`` when the client disconnects or the deadline passes first."""
        self.active.add(token)
        try:
            while True:
                done, _ = await asyncio.wait({work}, timeout=0.25)
                if done:
                    return work.result()
                if await request.is_disconnected():
                    token.cancel()
                    work.cancel()
                    raise ApiError(499, "client went away")
                if token.deadline is not None and time.monotonic() > token.deadline:
                    token.cancel()
                    work.cancel()
                    raise ApiError(504, f"timed out: the request ran past {self.request_timeout:g} s (--request-timeout)")
        finally:
            self.active.discard(token)

    async def explain(self, request: Request, predictor: BasePredictor, texts: list[str], options: dict[str, Any],
                      token: cancel.Token) -> list[dict[str, Any]]:
        """Integrated gradients are slow: their own thread, ``EXPLAIN_WAITING`` running or waiting at most."""
        if self.explaining >= EXPLAIN_WAITING:
            raise busy_error(f"{self.explaining} explain requests are running or waiting; retry shortly")
        self.explaining += 1

        def explained():
            with cancel.scope(token):
                return predictor.predict(texts, options)

        try:
            work = asyncio.get_running_loop().run_in_executor(self.explain_pool, explained)
            return await self.watch(request, asyncio.ensure_future(work), token)
        finally:
            self.explaining -= 1

    async def predict(self, name: str, body: PredictRequest, request: Request) -> dict[str, Any]:
        predictor = self.model(name)
        token = cancel.Token(self.request_timeout)
        try:
            if body.options.get("explain") is True and self.explaining >= EXPLAIN_WAITING:  # refused before any work
                raise busy_error(f"{self.explaining} explain requests are running or waiting; retry shortly")
            # tokenising up to the body limit for the cost check takes a while: off the event loop, which answers /health
            texts, options = await asyncio.to_thread(predictor.checked, body.inputs, body.options)
            if options.get("explain"):
                outputs = await self.explain(request, predictor, texts, body.options, token)
            else:
                work = asyncio.ensure_future(self.batchers[name].predict(texts, body.options, token))
                outputs = await self.watch(request, work, token)
        except QueueFull as err:
            raise busy_error(str(err)) from None
        except LimitError as err:
            raise ApiError(413, str(err)) from None
        except cancel.Cancelled as err:
            raise ApiError(504 if err.timed_out else 499, str(err)) from None
        except ValueError as err:
            raise ApiError(422, str(err).splitlines()[0][:300]) from None
        self.metrics.generated(predictor, outputs)
        return {"outputs": outputs}

    def generate(self, name: str, body: GenerateRequest) -> StreamingResponse:
        predictor = self.model(name)
        if self.streams[name] >= self.max_waiting:
            raise busy_error(f"{self.streams[name]} generations of model {name} are running or waiting; retry shortly")
        token = cancel.Token(self.request_timeout)
        try:
            events = predictor.stream(body.input, body.options, token)
        except LimitError as err:
            raise ApiError(413, str(err)) from None
        except ValueError as err:
            raise ApiError(422, str(err).splitlines()[0][:300]) from None
        self.streams[name] += 1
        self.active.add(token)
        return StreamingResponse(self.events(name, predictor, events, token), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    async def events(self, name: str, predictor: BasePredictor, events: Any, token: cancel.Token):
        """The generation as server-sent events: ``token`` per piece of text, then ``done`` (or ``error``)."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                event = await loop.run_in_executor(self.stream_pool, next, events, None)
                if event is None:
                    return
                kind = "token" if "text" in event else "done" if "result" in event else "error"
                data = event.get("result", event) if kind == "done" else event
                if kind == "done":
                    self.metrics.generated(predictor, [data])
                if kind == "error":
                    data = {"error": event["error"]}
                yield f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
        finally:  # finished, or the client left: stop the work at its next token
            token.cancel()
            self.active.discard(token)
            self.streams[name] -= 1


def create_app(predictors: list[BasePredictor], api_key: str | None = None, max_body: int = 1 << 20,
               batching: bool = True, batch_window: float = 0.0, request_timeout: float | None = 60.0,
               max_waiting: int = 64, body_timeout: float = 10.0, allowed_hosts: tuple[str, ...] | None = None) -> FastAPI:
    """The app: the guard (key, sizes, hosts, slow bodies) around the routes. ``allowed_hosts``: the Host names
    answered (a loopback server: its loopback names, against DNS rebinding); None answers any."""
    serving = Serving(predictors, batching, batch_window, request_timeout, max_waiting)
    models = serving.models

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        serving.drain()

    app = FastAPI(title="seqlab", description="Sequence models for text: predict, tag, generate, translate. "
                  "With an API key, send `Authorization: Bearer KEY` on /models and /v1/*.", version="1",
                  lifespan=lifespan)
    app.state.batchers = serving.batchers
    install_error_handlers(app)
    app.add_middleware(Guard, api_key=api_key, max_body=max_body, body_timeout=body_timeout,
                       allowed_hosts=allowed_hosts, on_request=serving.metrics.request)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> str:
        return page()

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "models": list(models)}

    @app.get("/ready")
    async def ready() -> JSONResponse:
        if serving.draining:
            return _error(503, "draining: shutting down")
        return JSONResponse({"status": "ready", "models": list(models)})

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        body, content_type = serving.metrics.render()
        return Response(body, media_type=content_type)

    @app.get("/models")
    async def list_models() -> list[dict[str, Any]]:
        return [p.describe() for p in models.values()]

    @app.post("/v1/{name}/predict", response_model=PredictResponse,
              responses={401: {}, 404: {}, 413: {}, 415: {}, 422: {}, 503: {}, 504: {}})
    async def predict(name: str, body: PredictRequest, request: Request) -> dict[str, Any]:
        return await serving.predict(name, body, request)

    @app.post("/v1/{name}/generate", responses={401: {}, 404: {}, 413: {}, 415: {}, 422: {}, 503: {}},
              response_class=StreamingResponse)
    async def generate(name: str, body: GenerateRequest) -> StreamingResponse:
        return serving.generate(name, body)

    return app
