"""Printing results: human-readable to the terminal, or one JSON object as the last line with ``--json``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..data.readers import read_lines


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def add_json_flag(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line of output")


def add_recipe_flags(parser) -> None:
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a recipe field, e.g. --set train.lr=0.001 (repeatable)")


def read_texts(args: argparse.Namespace, what: str, skip_empty: bool = False) -> list[str]:
    """Texts from the TEXT arguments, then ``--file`` (one per line), else standard input when it is piped."""
    texts = list(args.texts)
    if args.file:
        texts += read_lines(args.file)
    if not texts and not sys.stdin.isatty():
        texts = [line.rstrip("\n") for line in sys.stdin]
    if skip_empty:
        texts = [t for t in texts if t.strip()]
    if not texts:
        raise ValueError(f"no text to {what}: give TEXT arguments, --file F, or lines on standard input")
    return texts
