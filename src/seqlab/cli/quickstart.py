"""seqlab quickstart — train a BiLSTM classifier on the MR data shipped with seqlab, then show results."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..tasks import load_recipe
from ..data.download import builtin_dir
from ..serving.predictor import Predictor
from ..training.progress import console
from ..training.run import train
from .output import add_json_flag, add_recipe_flags, emit_json

HELP = "train a BiLSTM sentiment classifier on the bundled MR data and show test accuracy and predictions"
EXAMPLES = [
    "a gorgeous , witty , seductive movie .",
    "the plot is nothing but boilerplate clichés from start to finish , and the script is just as bad .",
    "an intelligent , moving and often hilarious film .",
    "it's a long , boring and pointless exercise .",
]


def add_parser(sub) -> None:
    p = sub.add_parser("quickstart", help=HELP, description=HELP + ". The recipe ships inside seqlab "
                       "(`seqlab config` shows any recipe; this one is seqlab/data/builtin/quickstart.yaml).")
    p.add_argument("--out", default="runs/quickstart", help="run directory (default runs/quickstart)")
    add_recipe_flags(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_json_flag(p)


def run(args: argparse.Namespace) -> int:
    out = console()
    recipe = load_recipe(builtin_dir() / "quickstart.yaml", args.overrides)
    recipe.source = "quickstart"
    if (Path(args.out) / "model").is_dir():
        out.print(f"replacing the previous quickstart run in {args.out}")
    results = train(recipe, Path(args.out), out=out, progress=not args.no_progress, overwrite=True)
    predictor = Predictor(Path(args.out))
    out.print(f"\n[bold]MR test accuracy: {results['test']['accuracy']:.2%}[/] "
              f"({results['sizes']['test']} sentences; dev {results['dev']['accuracy']:.2%}; "
              f"{results['wall_seconds']:.0f}s)")
    out.print("example predictions:")
    for p in predictor.predict(EXAMPLES):
        out.print(f"  {p['label']:>3} {p['probability']:.2f}  {p['text']}")
    out.print(f"model saved in {Path(args.out) / 'model'}; try:  seqlab predict {args.out} \"what a fine film\"")
    if args.json:
        emit_json(results)
    return 0
