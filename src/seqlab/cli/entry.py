"""The ``seqlab`` console script. ``seqlab serve`` of exported models starts here without importing torch (the
full command table in ``main`` imports it); every other command goes through ``main.run``."""

from __future__ import annotations

import argparse
import sys


def run() -> None:
    argv = sys.argv[1:]
    if argv[:1] == ["serve"] and "-h" not in argv and "--help" not in argv:
        sys.exit(serve(argv))
    from .main import run as full

    full()


def serve(argv: list[str]) -> int:
    from . import serve as command

    parser = argparse.ArgumentParser(prog="seqlab")
    command.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return command.run(args)
    except (ValueError, OSError, RuntimeError) as err:  # one line, as the full CLI prints its user errors
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"seqlab serve: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
