"""seqlab serve DIR [NAME=DIR …] — the models behind an HTTP API, with a web page to try them."""

from __future__ import annotations

import argparse
import sys

from .output import ExamplesFormatter, positive_int

HELP = "serve trained models over HTTP (JSON API, streaming generation, a web page at /)"


def add_parser(sub) -> None:
    p = sub.add_parser(
        "serve", help=HELP, formatter_class=ExamplesFormatter,
        description=HELP + ". Needs the serve extra: pip install 'seqlab[serve]'. Open http://127.0.0.1:8000/ for the "
        "page, /docs for the API, /metrics for Prometheus, /ready for a load balancer. Binds 127.0.0.1 unless told "
        "otherwise (and then answers only Host names of this machine); any other address needs an API key (or an "
        "explicit --insecure-no-auth). One process uses the threads SEQLAB_THREADS (or --threads) gives; for more "
        "cores run one server per core behind a proxy, e.g. `for p in 8001 8002; do seqlab serve DIR --port $p & done`.",
        epilog="examples:  seqlab serve runs/quickstart\n"
               "           seqlab serve sentiment=runs/quickstart g2p=runs/g2p --port 8080\n"
               "           curl -s localhost:8000/v1/quickstart/predict -H 'content-type: application/json' \\\n"
               "                -d '{\"inputs\": [\"a fine film\"]}'\n"
               "           SEQLAB_API_KEY=$(cat key.txt) seqlab serve runs/quickstart --host 0.0.0.0")
    p.add_argument("models", nargs="+", metavar="[NAME=]DIR",
                   help="run or model directories; a model's name defaults to its run directory's name")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=positive_int, default=8000, help="port (default 8000)")
    p.add_argument("--api-key", metavar="KEY", help="require 'Authorization: Bearer KEY' on every API request "
                   "(visible in `ps`: prefer $SEQLAB_API_KEY or --api-key-file)")
    p.add_argument("--api-key-file", metavar="FILE", help="read the API key from FILE (its first line)")
    p.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                   help="a Host name to answer besides this machine's loopback names (a loopback server refuses "
                        "others, against DNS rebinding); any name is answered when binding beyond loopback")
    p.add_argument("--runtime", choices=["auto", "onnx"], default="auto",
                   help="auto: an exported directory runs on onnxruntime (without torch), a run directory on torch; "
                        "onnx: refuse anything but exports")
    p.add_argument("--insecure-no-auth", action="store_true", help="bind a non-local address without an API key")
    p.add_argument("--no-batching", action="store_true",
                   help="one forward per request (default: requests arriving while the model is busy run as one batch)")
    p.add_argument("--batch-window-ms", type=float, default=0.0, metavar="MS",
                   help="also wait up to MS milliseconds for more requests before each batch (default 0)")
    p.add_argument("--max-body-bytes", type=positive_int, default=1 << 20, metavar="N", help="largest request body (default 1 MiB)")
    p.add_argument("--max-inputs", type=positive_int, default=256, metavar="N", help="texts per request (default 256)")
    p.add_argument("--max-input-tokens", type=positive_int, default=2000, metavar="N", help="tokens per text (default 2000)")
    p.add_argument("--max-new-tokens", type=positive_int, default=1000, metavar="N",
                   help="tokens a language model may generate per request (default 1000)")
    p.add_argument("--max-request-cost", type=positive_int, default=60_000, metavar="STEPS",
                   help="model steps one request may cost: Σ tokens per text; + max_tokens when generating; × beam "
                        "× (2·tokens + 5) in beam search; × 32 with explain (default 60,000; GET /models shows it)")
    p.add_argument("--request-timeout", type=float, default=60.0, metavar="S",
                   help="end a request's work after S seconds: 504, or an error event in a stream (default 60)")
    p.add_argument("--max-waiting", type=positive_int, default=64, metavar="N",
                   help="requests that may wait per model before 503 + Retry-After (default 64)")
    p.add_argument("--max-connections", type=positive_int, default=1000, metavar="N",
                   help="open connections at most (kept below the file-descriptor limit; default 1000)")
    p.add_argument("--header-timeout", type=float, default=10.0, metavar="S",
                   help="close a connection whose request headers are not complete in S seconds (default 10)")
    p.add_argument("--body-timeout", type=float, default=10.0, metavar="S",
                   help="answer 408 to a request body not complete in S seconds (default 10)")
    p.add_argument("--shutdown-timeout", type=float, default=10.0, metavar="S",
                   help="on SIGTERM, wait at most S seconds for requests in flight (default 10)")
    p.add_argument("--threads", type=positive_int, metavar="N", help="CPU threads per forward (default: "
                   "$SEQLAB_THREADS, else torch's or onnxruntime's own choice)")
    p.add_argument("--no-access-log", action="store_true", help="no line per request on stderr")


def api_key_of(args: argparse.Namespace) -> str | None:
    """--api-key, else --api-key-file's first line, else $SEQLAB_API_KEY."""
    import os
    from pathlib import Path

    if args.api_key_file:
        path = Path(args.api_key_file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as err:
            raise ValueError(f"--api-key-file {path}: {err.strerror}") from None
        if not lines or not lines[0].strip():
            raise ValueError(f"--api-key-file {path}: the first line is empty")
        return lines[0].strip()
    return args.api_key or os.environ.get("SEQLAB_API_KEY") or None


def run(args: argparse.Namespace) -> int:
    try:
        from ..serving import server
        from ..serving.app import LOOPBACK_HOSTS, create_app
    except ImportError:
        raise ValueError("seqlab serve needs FastAPI and uvicorn: pip install 'seqlab[serve]'") from None
    from .. import runtime
    from ..inference import Limits, load
    from ..serving.onnx_predictor import is_export

    api_key = api_key_of(args)
    local = args.host in ("127.0.0.1", "localhost", "::1")
    if not local and not api_key and not args.insecure_no_auth:
        raise ValueError(f"--host {args.host}: binding beyond this machine needs --api-key KEY (or --insecure-no-auth "
                         "to serve anyone who can reach it)")
    for flag, value in (("--batch-window-ms", args.batch_window_ms), ("--request-timeout", args.request_timeout),
                        ("--header-timeout", args.header_timeout), ("--body-timeout", args.body_timeout),
                        ("--shutdown-timeout", args.shutdown_timeout)):
        if not value >= 0 or value == float("inf"):
            raise ValueError(f"{flag}: must be a number of seconds, 0 or more, got {value}")
    limits = Limits(inputs=args.max_inputs, input_tokens=args.max_input_tokens, new_tokens=args.max_new_tokens,
                    cost=args.max_request_cost)
    threads = runtime.user_threads(args.threads) or 0
    predictors = []
    for item in args.models:
        name, sep, path = item.partition("=") if "=" in item else (None, "", item)
        if args.runtime == "onnx" and not is_export(path):
            raise ValueError(f"{path}: --runtime onnx serves exported models; run `seqlab export {path} --out DIR` first")
        predictor = load(path, limits, name, threads=threads)
        unservable = predictor.unservable()
        if unservable:
            raise ValueError(f"{path}: cannot be served on plain text: {unservable}")
        predictors.append(predictor)
    hosts = tuple(LOOPBACK_HOSTS) + tuple(h.lower() for h in args.allowed_host) if local else None
    app = create_app(predictors, api_key, args.max_body_bytes, not args.no_batching, args.batch_window_ms / 1000,
                     request_timeout=args.request_timeout or None, max_waiting=args.max_waiting,
                     body_timeout=args.body_timeout, allowed_hosts=hosts)
    server.access_log(not args.no_access_log)
    auth = "API key required" if api_key else "no API key" + (" (--insecure-no-auth)" if not local else "")
    print(f"serving {', '.join(f'{p.name} ({p.task_name})' for p in predictors)} on http://{args.host}:{args.port}/ "
          f"({auth}; micro-batching {'off' if args.no_batching else 'on'}; "
          f"{threads or 'default'} thread{'s' if threads != 1 else ''} per forward)", file=sys.stderr)
    server.run(app, args.host, args.port, args.header_timeout, args.max_connections, args.shutdown_timeout)
    return 0
