"""seqlab diagnose gradients | adding — the vanishing-gradient picture and the adding problem."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..config import PACKAGED_RECIPES
from ..tasks import load_recipe
from ..evaluation import plots
from ..evaluation.diagnostics import compare_cells, model_report
from ..tasks.adding.task import BASELINE_MSE
from ..training.progress import console
from ..training.run import train
from .output import add_json_flag, emit_json, positive_int

HELP = "gradient flow through time (tanh RNN vs LSTM vs GRU) and the adding problem"
RECIPES = PACKAGED_RECIPES  # the recipes that ship with seqlab


def add_parser(sub) -> None:
    p = sub.add_parser("diagnose", help=HELP, description=HELP + ".")
    actions = p.add_subparsers(dest="what", metavar="ACTION", required=True)
    g = actions.add_parser("gradients", help="‖∂L/∂h_t‖ for every t of freshly initialised RNN/LSTM/GRU cells on one "
                           "random sequence (L = ½‖h_T‖², with the LSTM's ∏ f), or of saved models; a PNG and JSON")
    a = actions.add_parser("adding", help="train the recipes adding-{rnn,lstm,gru}.yaml on the adding problem and plot "
                           "test MSE per epoch against the 0.167 baseline")
    for q in (g, a):
        q.add_argument("--cells", default="rnn,lstm,gru", help="comma-separated cells (default rnn,lstm,gru)")
        q.add_argument("--length", type=positive_int, default=100, help="sequence length T (default 100)")
        q.add_argument("--out", default="runs/diagnose", help="folder for the PNG and JSON"
                       + (" and the run directories" if q is a else "") + " (default runs/diagnose)")
        add_json_flag(q)
    g.add_argument("--hidden", type=positive_int, default=64, help="hidden size of the fresh cells (default 64)")
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g.add_argument("--model", action="append", default=[], metavar="DIR",
                   help="measure saved models instead of fresh cells (repeatable), e.g. the adding runs")
    g.add_argument("--text", help="with --model: the input text for a classifier")
    a.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a field of every recipe, e.g. --set train.epochs=5")
    for action in actions._choices_actions:  # each action's --help opens with what it does
        parser = actions.choices[action.dest]
        parser.description = action.help[0].upper() + action.help[1:] + "."


def run(args: argparse.Namespace) -> int:
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    cells = tuple(c.strip() for c in args.cells.split(",") if c.strip())
    if args.what == "gradients":
        if args.model:
            report = {"length": args.length, "hidden": None, "seed": args.seed, "cells": {
                Path(d).name: model_report(d, args.length, seed=args.seed, text=args.text) for d in args.model}}
            report["hidden"] = "trained"
        else:
            report = compare_cells(args.length, args.hidden, seed=args.seed, cells=cells)
        png = plots.gradient_flow(report, out_dir / "gradient_flow.png")
        (out_dir / "gradient_flow.json").write_text(json.dumps(report, indent=1))
        for name, r in report["cells"].items():
            g = r["grad_norm"]
            print(f"{name:>5}: ‖∂L/∂h_T‖ {g[-1]:.3g}  ‖∂L/∂h_1‖ {g[0]:.3g}  ratio {g[0] / g[-1]:.3g}")
        print(f"plot: {png}")
        if args.json:
            emit_json({**report, "png": str(png)})
        return 0
    out = console()
    summary, series = {}, {}
    for cell in cells:
        if not (RECIPES / f"adding-{cell}.yaml").is_file():
            raise FileNotFoundError(f"{RECIPES / f'adding-{cell}.yaml'}: the adding recipes ship with seqlab; reinstall it")
        recipe = load_recipe(RECIPES / f"adding-{cell}.yaml", [f"data.length={args.length}", *args.overrides])
        results = train(recipe, out_dir / f"adding-{cell}", out=out, overwrite=True)
        history = [json.loads(l) for l in (out_dir / f"adding-{cell}" / "metrics.jsonl").read_text().splitlines()]
        series[cell] = [(h["epoch"], h["dev_mse"]) for h in history if "dev_mse" in h]
        summary[cell] = {"test_mse": results["test"]["mse"], "epochs": results["training"]["epoch"],
                         "wall_seconds": results["wall_seconds"]}
        out.print(f"{cell}: test MSE {results['test']['mse']:.4f} (baseline {BASELINE_MSE:.3f})")
    png = plots.curves(series, out_dir / "adding.png", "epoch", "dev MSE (log scale)",
                       f"The adding problem, T = {args.length}", (BASELINE_MSE, "predict the mean: 0.167"), logy=True)
    print(f"plot: {png}")
    if args.json:
        emit_json({"length": args.length, "results": summary, "png": str(png)})
    return 0
