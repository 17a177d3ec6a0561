"""``seqlab`` entry point: a table of subcommands, each a small module with ``add_parser`` and ``run``."""

from __future__ import annotations

import argparse
import os
import sys

from .. import __version__, runtime
from ..artifact import ArtifactError
from ..config import ConfigError
from ..data.download import DatasetError
from ..data.readers import DataFormatError
from ..training.loop import TrainingDiverged
from . import (average, caption, completion, config_show, data, diagnose, embed, evaluate, explain, export, generate, predict, quickstart,
               recipes, serve, summary, tag, train, translate)

COMMANDS = {
    "quickstart": quickstart,
    "train": train,
    "evaluate": evaluate,
    "predict": predict,
    "tag": tag,
    "generate": generate,
    "translate": translate,
    "caption": caption,
    "serve": serve,
    "export": export,
    "average": average,
    "explain": explain,
    "embed": embed,
    "summary": summary,
    "data": data,
    "recipes": recipes,
    "config": config_show,
    "completion": completion,
    "diagnose": diagnose,
}
USER_ERRORS = (ConfigError, DataFormatError, DatasetError, ArtifactError, FileNotFoundError, ValueError)


class CommandParser(argparse.ArgumentParser):
    """A command's parser that takes options among its positional arguments, as users type them
    (``seqlab predict DIR --json "a fine film"``): argparse's intermixed parsing, for every command whose
    positionals allow it (not those with sub-commands of their own, such as ``seqlab data``)."""

    _intermixing = False

    def parse_known_args(self, args=None, namespace=None):
        mixable = not any(a.nargs in (argparse.PARSER, argparse.REMAINDER) for a in self._actions)
        if self._intermixing or not mixable:
            return super().parse_known_args(args, namespace)
        self._intermixing = True  # parse_known_intermixed_args calls parse_known_args itself
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seqlab",
        description="Sequence models for NLP: train, evaluate and use RNN/LSTM/GRU, TextCNN and baseline models, and generate text.",
        epilog="Run `seqlab COMMAND --help` for a command's options. Start with `seqlab quickstart`.",
    )
    parser.add_argument("--version", action="version", version=f"seqlab {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error instead of its one line (also SEQLAB_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=CommandParser)
    for module in COMMANDS.values():
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for commands that start themselves again (--nproc)
    debug = args.debug or os.environ.get("SEQLAB_DEBUG") == "1"
    rank = runtime.distributed_env()  # one of several data-parallel processes: its launcher reports for it
    try:
        return COMMANDS[args.command].run(args)
    except TrainingDiverged as err:
        return _fail(args.command, f"training stopped: {err}", 3, rank is not None)
    except USER_ERRORS as err:
        if debug:
            raise
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return _fail(args.command, f"error: {message}", 2, rank is not None)
    except KeyboardInterrupt:
        hint = "; `seqlab train … --resume` continues from the last checkpoint" if args.command == "train" else ""
        print(f"seqlab {args.command}: interrupted{hint}", file=sys.stderr)
        return 130
    except Exception as err:  # a rank whose peer died (gloo: connection reset): one line for the launcher
        if rank is None or debug:
            raise
        return _fail(args.command, f"rank {rank['rank']}: {type(err).__name__}: {str(err).strip().splitlines()[0][:300]}",
                     1, True)


def _fail(command: str, message: str, code: int, rank: bool) -> int:
    """Print ``message`` as one line, or, in a data-parallel rank, leave it for the launcher (``seqlab train
    --nproc`` prints the failed rank's line; torchrun shows it in its summary)."""
    runtime.report_failure(message)
    if not rank:
        print(f"seqlab {command}: {message}", file=sys.stderr)
    return code


def run() -> None:
    """Console-script entry: tune the allocator for training speed, then run ``main``."""
    runtime.tune_allocator()
    sys.exit(main())
