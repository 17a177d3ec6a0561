"""seqlab recipes — the recipes that ship with seqlab, one line each; `seqlab train NAME` runs one."""

from __future__ import annotations

import argparse

import yaml

from ..config import packaged_recipes
from .output import add_json_flag, emit_json

HELP = "list the recipes that ship with seqlab (train one with `seqlab train NAME`)"


def describe(path) -> dict:
    text = path.read_text(encoding="utf-8")
    comment = next((line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("#")), "")
    raw = yaml.safe_load(text) or {}
    data = raw.get("data") or {}
    return {"name": path.stem, "task": raw.get("task", "classification"), "model": (raw.get("model") or {}).get("name"),
            "data": data.get("dataset") or data.get("train"), "about": comment, "path": str(path)}


def add_parser(sub) -> None:
    p = sub.add_parser("recipes", help=HELP, description=HELP + ". `seqlab train NAME` and `seqlab config NAME` accept "
                       "these names as well as paths to your own recipe files.")
    add_json_flag(p)


def run(args: argparse.Namespace) -> int:
    rows = [describe(path) for path in packaged_recipes().values()]
    if args.json:
        emit_json({"recipes": rows})
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        print(f"{r['name']:<{width}}  {r['task']:<14} {r['model'] or '':<14} {r['data'] or '':<16} {r['about'][:80]}")
    return 0
