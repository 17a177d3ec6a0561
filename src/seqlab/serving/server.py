"""Running the app under uvicorn with the connection limits a server left running needs.

uvicorn times out an idle keep-alive connection but not one that never finishes its first request's headers,
and it accepts connections until the process runs out of file descriptors. ``GuardedH11`` (uvicorn's h11 protocol)
closes a connection whose request headers are not complete within ``header_timeout`` seconds, and refuses a
connection beyond ``max_connections`` at once; the body's own timeout is the app's (``create_app(body_timeout)``).
uvicorn's ``limit_concurrency`` answers 503 past that many requests in flight, and ``timeout_graceful_shutdown``
bounds the drain after SIGTERM (the app cancels what still runs: ``seqlab.cancel``).
"""

from __future__ import annotations

import logging
import resource
import sys
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


def guarded_protocol(header_timeout: float, max_connections: int) -> type:
    class GuardedH11(H11Protocol):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                self.connections.discard(self)
                transport.close()
                return
            # armed until a whole request line and headers arrive (handle_events then disarms it)
            self.timeout_keep_alive_task = self.loop.call_later(header_timeout, self.timeout_keep_alive_handler)

    return GuardedH11


def connection_ceiling(wanted: int) -> int:
    """``wanted``, kept below the process's file-descriptor limit (some descriptors are the server's own)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(16, min(wanted, soft - 64)) if soft > 0 else wanted


def access_log(enabled: bool) -> None:
    """One line per request on stderr (``seqlab.access``), or none."""
    log = logging.getLogger("seqlab.access")
    log.handlers.clear()
    log.propagate = False
    log.setLevel(logging.INFO if enabled else logging.ERROR)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log.addHandler(handler)


def run(app: Any, host: str, port: int, header_timeout: float = 10.0, max_connections: int = 1000,
        limit_concurrency: int = 256, shutdown_timeout: float = 10.0, keep_alive: float = 5.0) -> None:
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False,
                http=guarded_protocol(header_timeout, connection_ceiling(max_connections)),
                limit_concurrency=limit_concurrency, timeout_keep_alive=keep_alive,
                timeout_graceful_shutdown=shutdown_timeout)
