"""What every request passes before the API sees it, as plain ASGI (no per-request task or stream, unlike
Starlette's ``BaseHTTPMiddleware``): the Host allow-list, the API key, the route, the content type, the body's
size and its arrival time — all before a byte of the body is read where they can refuse — then the response's
request id and security headers, one access-log line and the metrics. A bug in the app is a 500 ``{"error"}``
naming the request id, logged in one line, never a traceback.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

ACCESS = logging.getLogger("seqlab.access")
PUBLIC = ("/", "/health", "/ready", "/favicon.ico", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect")
LISTED = ("/models", "/metrics")  # GET routes that need the key
API_ROUTE = re.compile(r"^/v1/[^/]+/(predict|generate)$")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
PAGE_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


def authorised(header: str, api_key: str) -> bool:
    """``Authorization: Bearer KEY`` with the scheme in any case (RFC 7235), compared in constant time."""
    scheme, _, given = header.strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), api_key.encode())


def host_allowed(host_header: str, allowed: tuple[str, ...] | None) -> bool:
    """The Host header's name (port dropped) is one this server answers to; ``allowed`` None answers any."""
    if allowed is None:
        return True
    name = host_header.rsplit(":", 1)[0] if not host_header.endswith("]") else host_header
    return name.lower() in allowed


def route_of(path: str) -> str:
    """A path as a metrics label: the known routes kept (with the model name), anything else collapsed."""
    return path if API_ROUTE.match(path) or path in PUBLIC or path in LISTED else "other"


class Guard:
    def __init__(self, app: Any, api_key: str | None, max_body: int, body_timeout: float,
                 allowed_hosts: tuple[str, ...] | None, on_request: Callable[[str, str, int, float], None]):
        self.app, self.api_key, self.max_body, self.body_timeout = app, api_key, max_body, body_timeout
        self.allowed_hosts, self.on_request = allowed_hosts, on_request

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        given = headers.get("x-request-id", "")
        rid = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        path, method = scope.get("path", ""), scope.get("method", "GET")
        status = {"code": 500, "started": False}
        extra = [(b"x-request-id", rid.encode()), (b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY")]
        if path == "/":
            extra.append((b"content-security-policy", PAGE_CSP.encode()))

        async def send_labelled(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["started"] = message["status"], True
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        async def refuse(code: int, text: str, more: list | None = None) -> None:
            body = json.dumps({"error": text}, ensure_ascii=False).encode()
            await send_labelled({"type": "http.response.start", "status": code, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(more or [])]})
            await send_labelled({"type": "http.response.body", "body": body})

        try:
            problem = self.check(path, method, headers)
            if problem:
                await refuse(*problem)
            elif method == "POST":
                body = await self.read_body(receive, refuse)
                if body is not None:
                    await self.app(scope, replay(body, receive), send_labelled)
            else:
                await self.app(scope, receive, send_labelled)
        except Exception as err:  # noqa: BLE001 — a bug: one log line and a 500 naming the request, no traceback
            ACCESS.error("request %s: internal error: %s: %s", rid, type(err).__name__,
                         str(err).splitlines()[0][:200] if str(err) else "")
            if not status["started"]:
                await refuse(500, f"internal error (request id {rid})")
        seconds = time.perf_counter() - started
        self.on_request(route_of(path), method, status["code"], seconds)
        ACCESS.info("%s %s %s %d %.1fms", rid, method, path[:200], status["code"], 1000 * seconds)

    def check(self, path: str, method: str, headers: dict[str, str]) -> tuple[int, str] | None:
        """(status, message) of a request refused on its headers alone, or None."""
        if not host_allowed(headers.get("host", ""), self.allowed_hosts):
            return 400, (f"Host {headers.get('host', '')[:80]!r} is not served here (seqlab serve --allowed-host NAME "
                         "adds one)")
        if self.api_key and path not in PUBLIC and not authorised(headers.get("authorization", ""), self.api_key):
            return 401, "missing or wrong API key: send 'Authorization: Bearer KEY'"
        if method != "POST":
            return None
        if not API_ROUTE.match(path):  # nothing else takes a body: answered without reading it
            known = path in PUBLIC or path in LISTED
            return (405, f"method POST is not allowed on {path}") if known else (404, "no such route (see /docs)")
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            return 413, f"request body over the limit of {self.max_body:,} bytes"
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return 415, f"send JSON with -H 'content-type: application/json' (got {content_type or 'none'!r})"
        return None

    async def read_body(self, receive: Callable, refuse: Callable) -> bytes | None:
        """The whole body, within ``max_body`` bytes and ``body_timeout`` seconds; None once refused (or gone)."""
        body = bytearray()

        async def read() -> bool:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return False
                body.extend(message.get("body", b""))
                if len(body) > self.max_body:
                    raise OverflowError
                if not message.get("more_body", False):
                    return True

        try:
            complete = await asyncio.wait_for(read(), self.body_timeout)
        except asyncio.TimeoutError:
            await refuse(408, f"the request body did not arrive within {self.body_timeout:g} s")
            return None
        except OverflowError:
            await refuse(413, f"request body over the limit of {self.max_body:,} bytes")
            return None
        return bytes(body) if complete else None  # a client gone mid-body gets no answer: nobody would read it


def replay(body: bytes, receive: Callable) -> Callable:
    """A ``receive`` that gives the app the body already read, then the connection's own messages (a disconnect)."""
    sent = {"done": False}

    async def wrapped() -> dict:
        if not sent["done"]:
            sent["done"] = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return wrapped
