"""seqlab data list | verify [NAME …]"""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from ..data.datasets import REGISTRY, candidate_dirs, get_spec, verify
from .output import add_json_flag, emit_json

HELP = "list the dataset registry or verify local copies by sha256"


def add_parser(sub) -> None:
    p = sub.add_parser("data", help=HELP, description=HELP + ". Datasets are read from $SEQLAB_DATA_DIR/<folder>, "
                       "the cache ($SEQLAB_CACHE_DIR, default ~/.cache/seqlab), or downloaded.")
    p.add_argument("action", choices=["list", "verify"])
    p.add_argument("names", nargs="*", metavar="NAME", help="datasets to verify (default: all)")
    add_json_flag(p)


def _where(spec) -> str:
    if not spec.files:
        return "generated on use (nothing to download)"
    for label, folder in candidate_dirs(spec):
        if all((folder / f.name).is_file() for f in spec.files):
            return f"{label}: {folder}"
    return "not present (downloads on first use)"


def run(args: argparse.Namespace) -> int:
    names = args.names or sorted(REGISTRY)
    specs = [get_spec(n) for n in names]
    if args.action == "list":
        rows = [{"name": s.name, "task": s.task, "description": s.description, "location": _where(s),
                 "urls": sorted({f.url for f in (s.archive,) + s.files if f is not None})} for s in specs]
        if args.json:
            emit_json({"datasets": rows})
            return 0
        table = Table(title="seqlab datasets")
        for col in ("name", "task", "description", "location"):
            table.add_column(col)
        for r in rows:
            table.add_row(r["name"], r["task"], r["description"], r["location"])
        Console().print(table)
        return 0
    report = {s.name: verify(s) for s in specs}
    bad = [(n, p, st) for n, items in report.items() for p, st in items if not st.startswith("ok")]
    if args.json:
        emit_json({"ok": not bad, "files": {n: dict(items) for n, items in report.items()}})
    else:
        for name, items in report.items():
            for path, status in items:
                print(f"{name:>6}  {status:<8}  {path}")
    return 1 if bad else 0
