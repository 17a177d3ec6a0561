"""Running the app under uvicorn with the connection limits a server left running needs.

uvicorn times out an idle keep-alive connection but not one that never finishes its first request's headers,
and it accepts connections until the process runs out of file descriptors. ``GuardedH11`` (uvicorn's h11 protocol)
closes a connection whose request headers are not complete within ``header_timeout`` seconds, and refuses a
connection beyond ``max_connections`` at once; the body's own timeout is the app's (``create_app(body_timeout)``).
uvicorn's own ``limit_concurrency`` is left off: it counts open connections too, so a flood of stalled ones would
turn every request, ``/health`` included, into a 503; requests in flight are bounded by the app's per-model queues
instead. ``timeout_graceful_shutdown`` bounds the drain after SIGTERM (the app cancels what still runs:
``seqlab.cancel``).

``/health`` stays under 100 ms while clients flood the server (``benchmarks/serve_abuse.py``) because one event
loop iteration never holds much work: asyncio accepts at most ``accept_batch`` connections per iteration (it reads
uvicorn's ``backlog`` as that count; the kernel's queue is set back to ``LISTEN_BACKLOG`` after start, so nobody
is refused for it); the objects alive at start (the models, torch, FastAPI) are frozen out of the garbage
collector (``gc.freeze``), whose full passes over them took 100–300 ms each under a flood of short-lived objects;
and the interpreter's switch interval is 1 ms, so a model's worker thread hands the loop the GIL quickly.
"""

from __future__ import annotations

import gc
import logging
import resource
import socket
import sys
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


def guarded_protocol(header_timeout: float, max_connections: int) -> type:
    class GuardedH11(H11Protocol):
        header_timer = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                self.connections.discard(self)
                transport.close()
                return
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is h11.IDLE:  # still reading a request line and headers
                if self.header_timer is None:
                    self._arm()
            elif self.header_timer is not None:  # the headers are in
                self.header_timer.cancel()
                self.header_timer = None

        def connection_lost(self, exc: Exception | None) -> None:
            if self.header_timer is not None:
                self.header_timer.cancel()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self.header_timer = self.loop.call_later(header_timeout, self._headers_too_slow)

        def _headers_too_slow(self) -> None:
            self.header_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

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


LISTEN_BACKLOG = 2048  # connections the kernel holds for accept (uvicorn's default)
SWITCH_INTERVAL = 0.001  # s: how soon the event loop's thread gets the GIL back from a model's worker thread


def run(app: Any, host: str, port: int, header_timeout: float = 10.0, max_connections: int = 1000,
        shutdown_timeout: float = 10.0, keep_alive: float = 5.0, accept_batch: int = 16) -> None:
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list | None = None) -> None:
            await super().startup(sockets)
            for server in self.servers:  # asyncio listened with the accept batch: the kernel's queue
                for listener in server.sockets or ():  # back to its full length
                    with socket.fromfd(listener.fileno(), listener.family, listener.type) as sock:
                        sock.listen(LISTEN_BACKLOG)

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            http=guarded_protocol(header_timeout, connection_ceiling(max_connections)),
                            timeout_keep_alive=keep_alive, timeout_graceful_shutdown=shutdown_timeout,
                            backlog=accept_batch)
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(SWITCH_INTERVAL)
    Server(config).run()
