"""``seqlab serve``'s HTTP API (FastAPI), the web page at ``/`` and the OpenAPI schema at ``/openapi.json``.

    GET  /health                  {"status": "ok", "models": [...]}
    GET  /models                  each model's name, task, labels, sizes, recipe summary, options, limits
    POST /v1/{model}/predict      {"inputs": [...], "options": {...}}  →  {"outputs": [...]}, one per input, in order
    POST /v1/{model}/generate     {"input": "...", "options": {...}}  →  server-sent events: ``token`` {"text"} …,
                                  then ``done`` {the predict output} (or ``error`` {"error"})

The outputs are ``seqlab.inference``'s dicts. Errors are JSON ``{"error": "one line"}``: 401 without the API key
(when one is set), 404 for an unknown model, 413 for a body over ``max_body`` bytes or an input over a limit,
422 for a malformed request. Inference runs in worker threads, never on the event loop; ``/predict`` requests
are micro-batched: those arriving while the model is busy run together next (``seqlab.serving.batcher``).
"""

from __future__ import annotations

import asyncio
import hmac
import json
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from .batcher import Batcher
from .base import BasePredictor, LimitError


class PredictRequest(BaseModel):
    inputs: list[str] | str = Field(description="texts (or one text); a language model's prompts")
    options: dict[str, Any] = Field(default_factory=dict, description="the model's inference options (GET /models)")


class GenerateRequest(BaseModel):
    input: str = Field("", description="the prompt")
    options: dict[str, Any] = Field(default_factory=dict)


class PredictResponse(BaseModel):
    outputs: list[dict[str, Any]]


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.message = status, message


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def page() -> str:
    return resources.files("seqlab.serving").joinpath("static/index.html").read_text(encoding="utf-8")


def create_app(predictors: list[BasePredictor], api_key: str | None = None, max_body: int = 1 << 20,
               batching: bool = True, batch_window: float = 0.0) -> FastAPI:
    models = {p.name: p for p in predictors}
    if len(models) != len(predictors):
        raise ValueError("two models share a name; give each directory a distinct name (NAME=DIR)")
    batchers = {name: Batcher(p, batching, batch_window) for name, p in models.items()}
    app = FastAPI(title="seqlab", description="Sequence models for text: predict, tag, generate, translate.",
                  version="1")
    app.state.batchers = batchers

    @app.exception_handler(ApiError)
    async def api_error(request: Request, err: ApiError) -> JSONResponse:
        return _error(err.status, err.message)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        public = request.url.path in ("/", "/health", "/favicon.ico")
        if api_key and not public:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {api_key}".encode()):
                return _error(401, "missing or wrong API key: send 'Authorization: Bearer KEY'")
        if request.method == "POST":
            declared = request.headers.get("content-length")
            if declared is not None and (not declared.isdigit() or int(declared) > max_body):
                return _error(413, f"request body over the limit of {max_body:,} bytes")
            body = b""
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_body:
                    return _error(413, f"request body over the limit of {max_body:,} bytes")
            request._body = body  # read once, bounded; FastAPI parses it from here
        return await call_next(request)

    def model(name: str) -> BasePredictor:
        if name not in models:
            raise ApiError(404, f"no model {name!r} (serving: {', '.join(models)})")
        return models[name]

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> str:
        return page()

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "models": list(models)}

    @app.get("/models")
    async def list_models() -> list[dict[str, Any]]:
        return [p.describe() for p in models.values()]

    @app.post("/v1/{name}/predict", response_model=PredictResponse,
              responses={401: {}, 404: {}, 413: {}, 422: {}})
    async def predict(name: str, body: PredictRequest) -> dict[str, Any]:
        predictor = model(name)
        try:
            texts = predictor.check_inputs(body.inputs)
            options = predictor.check_options(body.options)
            if options.get("explain"):  # slow (integrated gradients): one request at a time
                outputs = await asyncio.to_thread(predictor.predict, texts, body.options)
            else:
                outputs = await batchers[name].predict(texts, body.options)
        except LimitError as err:
            raise ApiError(413, str(err)) from None
        except ValueError as err:
            raise ApiError(422, str(err).splitlines()[0]) from None
        return {"outputs": outputs}

    @app.post("/v1/{name}/generate", responses={401: {}, 404: {}, 413: {}, 422: {}},
              response_class=StreamingResponse)
    async def generate(name: str, body: GenerateRequest) -> StreamingResponse:
        predictor = model(name)
        try:
            events = predictor.stream(body.input, body.options)
        except LimitError as err:
            raise ApiError(413, str(err)) from None
        except ValueError as err:
            raise ApiError(422, str(err).splitlines()[0]) from None

        def sse():
            for event in events:  # a sync iterator: Starlette runs it in a worker thread
                kind = "token" if "text" in event else "done" if "result" in event else "error"
                data = event.get("result", event) if kind == "done" else event
                yield f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"

        return StreamingResponse(sse(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Request, err: RequestValidationError) -> JSONResponse:
        first = err.errors()[0] if err.errors() else {"loc": (), "msg": "malformed request"}
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "body") or "body"
        return _error(422, f"{where}: {first.get('msg', 'invalid')}")

    return app
