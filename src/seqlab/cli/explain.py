"""seqlab explain DIR TEXT — which tokens drove a classifier's decision (captum), in colour, HTML, PNG or JSON."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from ..models.registry import has_word_embedding
from ..tasks import load_task
from ..evaluation.explain import METHODS, SHORT, explain, render_html, render_rich
from .output import add_json_flag, emit_json, positive_int

HELP = "show which tokens drove a classifier's decision (integrated gradients, occlusion, LIME)"


def add_parser(sub) -> None:
    p = sub.add_parser("explain", help=HELP, description=HELP + ". Each token is coloured by its attribution to the "
                       "probability of the predicted (or --target) class: green for, red against.")
    p.add_argument("model_dir", metavar="DIR", help="run directory or model directory of a classifier")
    p.add_argument("text", metavar="TEXT", help="the text to explain")
    p.add_argument("--method", action="append", choices=[*SHORT, "all"],
                   help="ig, occlusion or lime (repeatable; default all three)")
    p.add_argument("--target", metavar="LABEL", help="explain this class instead of the predicted one")
    p.add_argument("--steps", type=positive_int, default=64, help="integrated-gradients steps (default 64)")
    p.add_argument("--samples", type=positive_int, default=500, help="LIME samples (default 500)")
    p.add_argument("--seed", type=int, default=0, help="LIME's random seed")
    p.add_argument("--html", metavar="FILE", help="also write an HTML rendering")
    p.add_argument("--png", metavar="FILE", help="also write a PNG rendering")
    add_json_flag(p)


def run(args: argparse.Namespace) -> int:
    art, task = load_task(args.model_dir)
    if not task.explainable or not has_word_embedding(art.model):
        raise ValueError(f"{args.model_dir}: `seqlab explain` needs a neural text classifier (rnn_classifier, textcnn)")
    methods = METHODS if not args.method or "all" in args.method else tuple(SHORT[m] for m in args.method)
    result = explain(art.model, **task.explain_inputs(args.text), methods=methods, target=args.target,
                     steps=args.steps, samples=args.samples, seed=args.seed)
    if args.html:
        Path(args.html).write_text(render_html(result), encoding="utf-8")
    if args.png:
        from ..evaluation.plots import attributions

        attributions(result, args.png)
    if args.json:
        emit_json(result)
        return 0
    console = Console(highlight=False)
    probs = ", ".join(f"{k} {v:.3f}" for k, v in result["probabilities"].items())
    console.print(f"predicted [bold]{result['predicted']}[/] ({probs}); attributions of p({result['target']})")
    for method in result["attributions"]:
        if console.is_terminal:  # colours carry the scores
            console.print(f"[dim]{method.replace('_', ' '):>21}[/] ", render_rich(result, method))
        else:  # piped to a file: the scores as numbers, one token=score pair each
            pairs = " ".join(f"{token}={score:+.3f}" for token, score in zip(result["tokens"], result["attributions"][method]))
            print(f"{method.replace('_', ' '):>21}  {pairs}")
    if "delta" in result:
        console.print(f"[dim]integrated gradients completeness gap: {result['delta']:.2e}[/]")
    return 0
