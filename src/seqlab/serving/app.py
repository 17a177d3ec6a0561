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


def create_app(predictors: list[BasePredictor], api_key: str | None = None, max_body: int = 1 << 20,
               batching: bool = True, batch_window: float = 0.0, request_timeout: float | None = 60.0,
               max_waiting: int = 64, body_timeout: float = 10.0, allowed_hosts: tuple[str, ...] | None = None) -> FastAPI:
    """The app. ``allowed_hosts``: the Host names answered (a loopback server: its loopback names, against DNS
    rebinding); None answers any."""
    models = {p.name: p for p in predictors}
    if len(models) != len(predictors):
        raise ValueError("two models share a name; give each directory a distinct name (NAME=DIR)")
    metrics = ServerMetrics(list(models))
    batchers = {name: Batcher(p, batching, batch_window, max_waiting=max_waiting,
                              on_batch=lambda n, name=name: metrics.batch(name, n)) for name, p in models.items()}
    explain_pool = ThreadPoolExecutor(1, thread_name_prefix="seqlab-explain")
    stream_pool = ThreadPoolExecutor(max(4, max_waiting), thread_name_prefix="seqlab-stream")
    busy = {"explain": 0, "streams": {name: 0 for name in models}}
    active: set[cancel.Token] = set()
    state = {"draining": False}
    for name, batcher in batchers.items():
        metrics.queue_depth(name, lambda b=batcher: b.waiting)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        state["draining"] = True  # SIGTERM: /ready says so; work still running stops at its next step
        for token in list(active):
            token.cancel()

    app = FastAPI(title="seqlab", description="Sequence models for text: predict, tag, generate, translate. "
                  "With an API key, send `Authorization: Bearer KEY` on /models and /v1/*.", version="1",
                  lifespan=lifespan)
    app.state.batchers = batchers

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

    app.add_middleware(Guard, api_key=api_key, max_body=max_body, body_timeout=body_timeout,
                       allowed_hosts=allowed_hosts, on_request=metrics.request)

    def model(name: str) -> BasePredictor:
        if name not in models:
            raise ApiError(404, f"no model {name[:80]!r} (serving: {', '.join(models)})")
        return models[name]

    def busy_error(message: str) -> ApiError:
        return ApiError(503, message, {"Retry-After": "1"})

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> str:
        return page()

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "models": list(models)}

    @app.get("/ready")
    async def ready() -> JSONResponse:
        if state["draining"]:
            return _error(503, "draining: shutting down")
        return JSONResponse({"status": "ready", "models": list(models)})

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    @app.get("/models")
    async def list_models() -> list[dict[str, Any]]:
        return [p.describe() for p in models.values()]

    async def watch(request: Request, work: asyncio.Future, token: cancel.Token):
        """``work``'s result; cancels ``token`` when the client disconnects or the deadline passes first."""
        active.add(token)
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
                    raise ApiError(504, f"timed out: the request ran past {request_timeout:g} s (--request-timeout)")
        finally:
            active.discard(token)

    @app.post("/v1/{name}/predict", response_model=PredictResponse,
              responses={401: {}, 404: {}, 413: {}, 415: {}, 422: {}, 503: {}, 504: {}})
    async def predict(name: str, body: PredictRequest, request: Request) -> dict[str, Any]:
        predictor = model(name)
        token = cancel.Token(request_timeout)
        try:
            if body.options.get("explain") is True and busy["explain"] >= EXPLAIN_WAITING:  # refused before any work
                raise busy_error(f"{busy['explain']} explain requests are running or waiting; retry shortly")
            # tokenising up to the body limit for the cost check takes a while: off the event loop, which answers /health
            texts, options = await asyncio.to_thread(predictor.checked, body.inputs, body.options)
            if options.get("explain"):  # slow (integrated gradients): its own thread, a few waiting at most
                if busy["explain"] >= EXPLAIN_WAITING:
                    raise busy_error(f"{busy['explain']} explain requests are running or waiting; retry shortly")
                busy["explain"] += 1

                def explained():
                    with cancel.scope(token):
                        return predictor.predict(texts, body.options)

                try:
                    work = asyncio.get_running_loop().run_in_executor(explain_pool, explained)
                    outputs = await watch(request, asyncio.ensure_future(work), token)
                finally:
                    busy["explain"] -= 1
            else:
                work = asyncio.ensure_future(batchers[name].predict(texts, body.options, token))
                outputs = await watch(request, work, token)
        except QueueFull as err:
            raise busy_error(str(err)) from None
        except LimitError as err:
            raise ApiError(413, str(err)) from None
        except cancel.Cancelled as err:
            raise ApiError(504 if err.timed_out else 499, str(err)) from None
        except ValueError as err:
            raise ApiError(422, str(err).splitlines()[0][:300]) from None
        metrics.generated(predictor, outputs)
        return {"outputs": outputs}

    @app.post("/v1/{name}/generate", responses={401: {}, 404: {}, 413: {}, 415: {}, 422: {}, 503: {}},
              response_class=StreamingResponse)
    async def generate(name: str, body: GenerateRequest) -> StreamingResponse:
        predictor = model(name)
        if busy["streams"][name] >= max_waiting:
            raise busy_error(f"{busy['streams'][name]} generations of model {name} are running or waiting; retry shortly")
        token = cancel.Token(request_timeout)
        try:
            events = predictor.stream(body.input, body.options, token)
        except LimitError as err:
            raise ApiError(413, str(err)) from None
        except ValueError as err:
            raise ApiError(422, str(err).splitlines()[0][:300]) from None
        busy["streams"][name] += 1
        active.add(token)

        async def sse():
            loop = asyncio.get_running_loop()
            try:
                while True:
                    event = await loop.run_in_executor(stream_pool, next, events, None)
                    if event is None:
                        return
                    kind = "token" if "text" in event else "done" if "result" in event else "error"
                    data = event.get("result", event) if kind == "done" else event
                    if kind == "done":
                        metrics.generated(predictor, [data])
                    if kind == "error":
                        data = {"error": event["error"]}
                    yield f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
            finally:  # finished, or the client left: stop the work at its next token
                token.cancel()
                active.discard(token)
                busy["streams"][name] -= 1

        return StreamingResponse(sse(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    return app

