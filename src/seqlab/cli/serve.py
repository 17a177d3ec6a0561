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
        "page, /docs for the API. Binds 127.0.0.1 unless told otherwise; any other address needs --api-key (or an "
        "explicit --insecure-no-auth).",
        epilog="examples:  seqlab serve runs/quickstart\n"
               "           seqlab serve sentiment=runs/quickstart g2p=runs/g2p --port 8080\n"
               "           curl -s localhost:8000/v1/quickstart/predict -d '{\"inputs\": [\"a fine film\"]}'")
    p.add_argument("models", nargs="+", metavar="[NAME=]DIR",
                   help="run or model directories; a model's name defaults to its run directory's name")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=positive_int, default=8000, help="port (default 8000)")
    p.add_argument("--api-key", metavar="KEY", help="require 'Authorization: Bearer KEY' on every API request "
                   "(default: $SEQLAB_API_KEY)")
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


def run(args: argparse.Namespace) -> int:
    import os

    try:
        import uvicorn

        from ..serving.app import create_app
    except ImportError:
        raise ValueError("seqlab serve needs FastAPI and uvicorn: pip install 'seqlab[serve]'") from None
    from ..inference import Limits, load
    from ..serving.onnx_predictor import is_export

    api_key = args.api_key or os.environ.get("SEQLAB_API_KEY") or None
    local = args.host in ("127.0.0.1", "localhost", "::1")
    if not local and not api_key and not args.insecure_no_auth:
        raise ValueError(f"--host {args.host}: binding beyond this machine needs --api-key KEY (or --insecure-no-auth "
                         "to serve anyone who can reach it)")
    if args.batch_window_ms < 0:
        raise ValueError(f"--batch-window-ms: must be 0 or more, got {args.batch_window_ms}")
    limits = Limits(inputs=args.max_inputs, input_tokens=args.max_input_tokens, new_tokens=args.max_new_tokens)
    predictors = []
    for item in args.models:
        name, sep, path = item.partition("=") if "=" in item else (None, "", item)
        if args.runtime == "onnx" and not is_export(path):
            raise ValueError(f"{path}: --runtime onnx serves exported models; run `seqlab export {path} --out DIR` first")
        predictors.append(load(path, limits, name))
    app = create_app(predictors, api_key, args.max_body_bytes, not args.no_batching, args.batch_window_ms / 1000)
    auth = "API key required" if api_key else "no API key" + (" (--insecure-no-auth)" if not local else "")
    print(f"serving {', '.join(f'{p.name} ({p.task_name})' for p in predictors)} on http://{args.host}:{args.port}/ "
          f"({auth}; micro-batching {'off' if args.no_batching else 'on'})", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
