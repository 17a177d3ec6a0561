"""One connection flood against a running ``seqlab serve`` (one classifier), with a probe asking ``/health`` every
50 ms on its own keep-alive connection in a process of its own: how long the slowest probe took, and when.
The diagnostic behind RESULTS' "/health under 100 ms" table (``serve_abuse.py`` replays every attack; this one
isolates a single flood so that one change to the server can be measured at a time).

    python benchmarks/serve_flood.py --kind body --connections 1000     # stalled 1 MB bodies (64 KB sent)
    python benchmarks/serve_flood.py --kind half --connections 2000     # half-sent request headers
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import serve_abuse as abuse  # noqa: E402  (the server, the probe and the raw sockets)

ROOT = Path(__file__).resolve().parents[1]
BODY = (b"POST /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n"
        + b"x" * 65536)
HALF = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(ROOT / "runs" / "quickstart"), help="a classifier to serve")
    ap.add_argument("--kind", choices=["body", "half"], default="body")
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--log", default=str(ROOT / "runs" / "serve_flood_server.log"))
    args = ap.parse_args(argv)
    server = abuse.Server({"clf": args.model}, Path(args.log), ["--header-timeout", "2", "--body-timeout", "2"])
    probe = abuse.Probe(server)
    probe.start()
    time.sleep(1.0)
    start = time.time()
    socks = []
    for _ in range(args.connections):
        s = abuse.raw_socket(server.port)
        s.sendall(BODY if args.kind == "body" else HALF)
        socks.append(s)
    sent = time.time() - start
    if args.kind == "body":
        for s in socks:
            try:
                s.recv(200)
            except OSError:
                pass
    else:
        time.sleep(3.5)  # past the header timeout
    for s in socks:
        s.close()
    time.sleep(2.0)
    probe.stop_flag.set()
    probe.join()
    server.stop()
    slow = [(round(at - start - ms / 1000, 2), ms) for at, ms in probe.slow]
    print(f"{args.kind} × {args.connections}: sent in {sent:.2f} s; {probe.samples} probes, worst /health "
          f"{probe.worst_ms:.0f} ms; over 100 ms (s after the flood began, ms): {slow or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
