"""seqlab train RECIPE.yaml [--set key=value …] [--out DIR] [--resume]"""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import runtime
from ..config import ConfigError
from ..tasks import load_recipe
from ..training.progress import console
from ..training.crossval import cross_validate
from ..training.run import train
from .output import add_json_flag, add_recipe_flags, emit_json, positive_int, print_scores

HELP = "train a model from a YAML recipe"


def add_parser(sub) -> None:
    p = sub.add_parser("train", help=HELP, description=HELP + ". Writes DIR/model (best model), DIR/checkpoint, "
                       "DIR/metrics.jsonl and DIR/results.json.")
    p.add_argument("recipe", help="recipe file (e.g. my-recipe.yaml), or a packaged recipe's name (e.g. mr-bilstm; "
                   "`seqlab recipes` lists them)")
    add_recipe_flags(p)
    p.add_argument("--out", help="run directory (default: runs/<recipe name>)")
    p.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint")
    p.add_argument("--overwrite", action="store_true", help="replace the model a finished run left in DIR "
                   "(without it, a DIR that holds a model is refused)")
    p.add_argument("--cv", action="store_true", help="k-fold cross-validation (data.folds, default 10) for datasets "
                   "without an official split: one run per fold in DIR/fold<k>, mean and std in DIR/crossval.json")
    p.add_argument("--nproc", type=positive_int, metavar="N", help="data-parallel training in N processes on this "
                   "machine (torch.distributed, gloo on CPU): the same as `torchrun --standalone --nproc-per-node N -m "
                   "seqlab train …`; train.batch_size stays the global batch and train.threads is per process")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], help="where to train: sets train.device "
                   "(default: the recipe's, auto: CUDA, else MPS, else CPU); one GPU per process under --nproc")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_json_flag(p)


def without_nproc(argv: list[str]) -> list[str]:
    """The command line again, less ``--nproc N`` / ``--nproc=N``."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            out.append(arg)
    return out


def run(args: argparse.Namespace) -> int:
    if args.device:
        args.overrides = [*args.overrides, f"train.device={args.device}"]
    recipe = load_recipe(args.recipe, args.overrides)  # checked once here, before any process starts
    if args.nproc and args.nproc > 1 and runtime.distributed_env() is None:
        if args.cv:
            raise ConfigError("--nproc and --cv: run the folds one after another in one process, or each fold with --nproc")
        from ..training.distributed import launch

        return launch(args.nproc, without_nproc(args.argv))
    out_dir = Path(args.out or Path("runs") / Path(args.recipe).stem)
    out = console()
    if args.cv:
        summary = cross_validate(recipe, out_dir, out, progress=not args.no_progress, overwrite=args.overwrite)
        out.print(f"[bold green]{summary['folds']}-fold cross-validation[/]: test {summary['metric']} "
                  f"{summary['mean']:.4f} ± {summary['std']:.4f}")
        if args.json:
            emit_json(summary)
        return 0
    results = train(recipe, out_dir, resume=args.resume, out=out, progress=not args.no_progress,
                    overwrite=args.overwrite)
    if results is None:  # a data-parallel rank other than 0: rank 0 reports
        return 0
    out.print(f"[bold green]done[/] in {results['wall_seconds']:.1f}s")
    budget, trained = recipe.train.max_minutes, results["training"].get("train_seconds")
    if budget and trained is not None:
        out.print(f"train.max_minutes ({budget:g}) bounds the training steps ({trained:.1f}s); reading data, evaluation "
                  f"and saving took the other {results['wall_seconds'] - trained:.1f}s")
    print_scores(out, {"dev": results["dev"], "test": results.get("test") or {}})
    out.print(f"model saved in {out_dir / 'model'}")
    if args.json:
        emit_json(results)
    return 0
