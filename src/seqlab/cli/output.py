"""Printing results: human-readable to the terminal, or one JSON object as the last line with ``--json``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..data.readers import read_examples, read_lines


class ExamplesFormatter(argparse.HelpFormatter):
    """Descriptions wrapped to the terminal, an ``examples:`` / ``install:`` epilog kept line for line."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith(("examples:", "install:")):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def _number(kind, test, wording):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        if value != value or not test(value):
            raise argparse.ArgumentTypeError(f"must be {wording}, got {text}")
        return value
    parse.__name__ = wording  # argparse names the type in some messages
    return parse


positive_int = _number(int, lambda v: v >= 1, "at least 1")
non_negative_int = _number(int, lambda v: v >= 0, "0 or more")
non_negative_float = _number(float, lambda v: 0 <= v < float("inf"), "a finite number ≥ 0")
probability = _number(float, lambda v: 0 < v <= 1, "in (0, 1]")


def piped_console():
    """A rich console for reports: on a terminal as usual; piped to a file or a program, its lines neither wrapped
    nor its tables cut at rich's default 80 columns."""
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=1_000, soft_wrap=True)


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "—" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def print_scores(out, scores: dict[str, dict[str, Any]]) -> None:
    """Scores of one or more splits as tables on the rich console ``out``: scalar metrics in one table (a column
    per split), each nested table (per chunk type, per class) in its own, instead of Python dicts."""
    from rich.table import Table

    splits = {name: s for name, s in scores.items() if s}
    if not splits:
        return
    metrics = [k for k in dict.fromkeys(k for s in splits.values() for k in s) if
               all(not isinstance(s.get(k), (dict, list)) for s in splits.values())]
    table = Table(box=None, pad_edge=False)
    table.add_column("metric")
    for name in splits:
        table.add_column(name, justify="right")
    for key in metrics:
        table.add_row(key, *(_cell(s.get(key)) for s in splits.values()))
    out.print(table)
    for name, s in splits.items():
        for key, value in s.items():
            if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
                columns = list(dict.fromkeys(c for v in value.values() for c in v))
                nested = Table(title=f"{name}: {key}", box=None, pad_edge=False, title_justify="left")
                nested.add_column(key.split("_")[-1])
                for column in columns:
                    nested.add_column(column, justify="right")
                for row, v in value.items():
                    nested.add_row(str(row), *(_cell(v.get(c)) for c in columns))
                out.print(nested)


def add_json_flag(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line of output")


def add_recipe_flags(parser) -> None:
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a recipe field, e.g. --set train.lr=0.001 (repeatable)")


def add_device_flag(parser, default: str = "cpu", what: str = "run the model on") -> None:
    parser.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default=default,
                        help=f"{what} (default {default}; auto: CUDA, else MPS, else CPU)")


def add_inference_flags(parser) -> None:
    """``--option NAME=VALUE`` (any of the model's inference options) and the per-input bound."""
    parser.add_argument("--option", "-o", dest="options", action="append", default=[], metavar="NAME=VALUE",
                        help="an inference option of the model, value in YAML (e.g. -o n_best=3); "
                             "`seqlab predict DIR --list-options` lists them")
    parser.add_argument("--max-input-tokens", type=positive_int, default=None, metavar="N",
                        help="refuse texts longer than N tokens (default 2000)")


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """``["n_best=3", "stop=[\"\\n\"]"]`` → ``{"n_best": 3, "stop": ["\\n"]}``; values read as YAML."""
    import yaml

    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--option {pair!r}: expected NAME=VALUE")
        try:
            out[name.strip()] = yaml.safe_load(value) if value.strip() else None
        except yaml.YAMLError:
            raise ValueError(f"--option {name.strip()}: not a valid YAML value: {value[:60]!r}") from None
    return out


def load_predictor(args: argparse.Namespace, command: str, tasks: tuple[str, ...] = ()):
    """The model of ``args.model_dir`` as a ``Predictor``; with ``tasks``, refuse a model of another task."""
    from ..inference import Limits, load

    limits = Limits(input_tokens=args.max_input_tokens) if getattr(args, "max_input_tokens", None) else Limits()
    predictor = load(args.model_dir, limits, device=getattr(args, "device", None) or "cpu")
    if tasks and predictor.task_name not in tasks:
        raise ValueError(f"{args.model_dir}: `seqlab {command}` needs a {' or '.join(tasks)} model; this one is "
                         f"{predictor.task_name} (`seqlab predict` takes any)")
    return predictor


#: ``--input`` files read by their text column rather than line by line (a labelled file's label is not read)
COLUMN_FORMATS = {".tsv": "tsv", ".csv": "csv", ".jsonl": "jsonl"}


def add_input_flags(p: argparse.ArgumentParser, what: str) -> None:
    """``--input FILE`` (``--file``, the old spelling) and ``--text-field`` for a column file."""
    p.add_argument("--input", "--file", dest="file", metavar="FILE",
                   help=f"{what} per line; a .tsv, .csv or .jsonl file (gzipped too) by its --text-field column")
    p.add_argument("--text-field", default="text", metavar="NAME",
                   help="the column of a .tsv/.csv/.jsonl --input holding the texts (default: text)")


def input_file_texts(path: str, text_field: str = "text") -> list[str]:
    """The texts of an ``--input`` file: a ``.tsv``/``.csv``/``.jsonl`` file (gzipped too) by its ``text_field``
    column, its header and other columns (a label) left out; any other file one text per line."""
    suffix = Path(path.removesuffix(".gz")).suffix.lower()
    if suffix not in COLUMN_FORMATS:
        return read_lines(path)
    examples = read_examples(path, COLUMN_FORMATS[suffix], text_field=text_field, label_field=None)
    print(f"{path}: the texts of column {text_field!r} ({len(examples):,}); other columns are not read "
          "(`seqlab evaluate DIR --input FILE` scores a labelled file)", file=sys.stderr)
    return [ex.text for ex in examples]


def read_texts(args: argparse.Namespace, what: str, skip_empty: bool = False) -> list[str]:
    """Texts from the TEXT arguments, then ``--input`` (``input_file_texts``), else standard input when it is
    piped."""
    texts = list(args.texts)
    if args.file:
        texts += input_file_texts(args.file, args.text_field)
    if not texts and not sys.stdin.isatty():
        texts = [line.rstrip("\n") for line in sys.stdin]
    if skip_empty:
        texts = [t for t in texts if t.strip()]
    if not texts:
        raise ValueError(f"no text to {what}: give TEXT arguments, --input FILE, or lines on standard input")
    return texts
