"""seqlab data list | verify [NAME …] | check RECIPE|FILE …"""

from __future__ import annotations

import argparse

from rich.table import Table

from ..tasks import load_recipe
from ..data.check import also_in, check_split
from ..data.datasets import REGISTRY, get_spec
from ..data.download import candidate_dirs, verify
from ..data.readers import read_conll, read_conllu, read_examples
from ..data.tokenizers import Tokenizer
from ..data.readers import guess_format
from ..tasks import get_task
from .output import add_json_flag, add_recipe_flags, emit_json, piped_console

HELP = "list the dataset registry, verify local copies by sha256, or check a recipe's data or a file"


def add_parser(sub) -> None:
    p = sub.add_parser("data", help=HELP, description=HELP + ". Datasets are read from $SEQLAB_DATA_DIR/<folder>, "
                       "the cache ($SEQLAB_CACHE_DIR, default ~/.cache/seqlab), or downloaded.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = actions.add_parser("list", help="the registry: each dataset's task, description and where its copy is")
    ls.add_argument("names", nargs="*", metavar="NAME", help="datasets to list (default: all)")
    add_json_flag(ls)
    vf = actions.add_parser("verify", help="sha256 of the local copies against the registry (exit 1 on a mismatch)")
    vf.add_argument("names", nargs="*", metavar="NAME", help="datasets to verify (default: all)")
    add_json_flag(vf)
    ck = actions.add_parser("check", help="counts, labels, empty and duplicate texts, lengths and tag-scheme problems "
                            "of a recipe's splits or of data files (exit 1 on problems)")
    ck.add_argument("names", nargs="+", metavar="TARGET", help="recipe files (.yaml) or data files")
    ck.add_argument("--format", help="the data files' format (default: from the suffix; .conll and .conllu are read "
                    "as tagged sentences)")
    add_recipe_flags(ck)
    add_json_flag(ck)
    for action in actions._choices_actions:  # each action's --help opens with what it does
        parser = actions.choices[action.dest]
        parser.description = action.help[0].upper() + action.help[1:] + "."


def _where(spec) -> str:
    if not spec.files:
        return "generated on use (nothing to download)"
    for label, folder in candidate_dirs(spec):
        if all((folder / f.name).is_file() for f in spec.files):
            return f"{label}: {folder}"
    return "not present (downloads on first use)"


def _check_reports(target: str, fmt: str | None, overrides: list[str]) -> dict[str, dict]:
    if target.endswith((".yaml", ".yml")):
        recipe = load_recipe(target, overrides)
        task = get_task(recipe.task, recipe.source)
        splits = {split: task.load_split(recipe.data, split, recipe.source) for split in ("train", "dev", "test")}
        data = recipe.data
        tokenize = str.split if data.tokenizer == "bpe" else Tokenizer.from_config(data.tokenizer, data.lowercase, data.user_dict)
        reports = {f"{target} {split}": check_split(examples, tokenize, task.paired_texts) for split, examples in splits.items()}
        for split in ("dev", "test"):  # what the held-out splits share with train flatters their scores
            reports[f"{target} {split}"]["also_in_train"] = also_in(splits[split], splits["train"])
        return reports
    fmt = fmt or ("conllu" if target.endswith((".conllu", ".conllu.gz")) else
                  "conll" if target.endswith((".conll", ".conll.gz", ".iob", ".bio")) else guess_format(target))
    if fmt == "conll":
        return {target: check_split(read_conll(target))}
    if fmt == "conllu":
        return {target: check_split(read_conllu(target))}
    return {target: check_split(read_examples(target, fmt))}


def _value(v) -> str:
    """A count as ``1,234``; a summary such as tokens per text as ``min 4, median 9, max 61``."""
    if isinstance(v, dict):
        return "(" + ", ".join(f"{k} {_value(x)}" for k, x in v.items()) + ")"
    return f"{v:,}" if isinstance(v, int) else str(v)


def run_check(args: argparse.Namespace) -> int:
    if not args.names:
        raise ValueError("data check: give recipe files or data files to check")
    reports = {}
    for target in args.names:
        reports.update(_check_reports(target, args.format, args.overrides))
    problems = sum(len(r["problems"]) for r in reports.values())
    if args.json:
        emit_json({"ok": not problems, "reports": reports})
        return 1 if problems else 0
    console = piped_console()
    for name, report in reports.items():
        counts = {k: v for k, v in report.items() if k not in ("problems", "labels", "tags")}
        classes = report.get("labels") or report.get("tags") or {}
        console.print(f"[bold]{name}[/]: " + ", ".join(f"{k.replace('_', ' ')} {_value(v)}" for k, v in counts.items()))
        if classes:
            console.print("  " + ", ".join(f"{k} {v:,}" for k, v in list(classes.items())[:12])
                          + (" …" if len(classes) > 12 else ""))
        for problem in report["problems"]:
            console.print(f"  [yellow]problem[/]: {problem}")
    console.print(f"{problems} problem{'s' if problems != 1 else ''} found" if problems else "no problems found")
    return 1 if problems else 0


def run(args: argparse.Namespace) -> int:
    if args.action == "check":
        return run_check(args)
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
        piped_console().print(table)
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
