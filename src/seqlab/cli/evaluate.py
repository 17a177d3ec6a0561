"""seqlab evaluate DIR [--input FILE] [--split test]"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from ..evaluation.evaluate import evaluate_dir
from .output import add_device_flag, add_json_flag, emit_json, non_negative_int, positive_int, print_scores

HELP = "evaluate a saved model on a split of its data or on a labelled file"


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help=HELP, description=HELP + ".")
    p.add_argument("model_dir", metavar="DIR", help="run directory or model directory")
    p.add_argument("--split", default="test", choices=["train", "dev", "test"], help="split of the recipe's data (default test)")
    p.add_argument("--input", "--data", dest="data", metavar="FILE",
                   help="a labelled file instead (tsv, csv, jsonl with text/label columns, or a folder; --data: the old spelling)")
    p.add_argument("--format", dest="data_format", choices=["tsv", "csv", "jsonl", "folder", "conll", "conllu"],
                   help="format of --input (default: from its suffix; conll for a tagging model)")
    p.add_argument("--report", metavar="DIR", help="also write confusion.png, curves.png and report.json (per-class "
                   "scores, worst-classified examples) into DIR")
    p.add_argument("--beam", type=positive_int, default=None, metavar="K", help="seq2seq models: decode with beam width K "
                   "(default: the recipe's data.beam)")
    p.add_argument("--ensemble", nargs="+", metavar="DIR", help="classification and seq2seq: more models trained on "
                   "the same data (same vocabularies), predicting with DIR as one by the mean of their distributions")
    p.add_argument("--batch-size", type=positive_int, default=None, metavar="N",
                   help="evaluation batch size (default: the recipe's train.eval_batch_size, which reproduces the run's figures)")
    p.add_argument("--worst", type=non_negative_int, default=10, help="worst-classified examples to list with --report (default 10)")
    add_device_flag(p, what="evaluate on")
    add_json_flag(p)


def run(args: argparse.Namespace) -> int:
    from ..serving.onnx_predictor import is_export
    from .evaluate_export import evaluate_export

    if is_export(args.model_dir):
        if args.ensemble:
            raise ValueError("--ensemble: evaluates seqlab model directories, not ONNX exports")
        scores = evaluate_export(args)
    else:
        scores = evaluate_dir(args.model_dir, args.split, args.data, args.data_format, batch_size=args.batch_size,
                              report_dir=args.report, worst=args.worst, beam=args.beam, device=args.device,
                              ensemble=args.ensemble)
    if args.json:
        emit_json(scores)
        return 0
    report = scores.pop("report", None)
    out = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
    out.print(f"{scores.pop('model')} on {scores.pop('data')}" + (f" ({scores.pop('runtime')})" if "runtime" in scores else ""))
    print_scores(out, {args.split if not args.data else "data": scores})
    if report:
        for example in report.pop("worst", []):
            print(f"  worst: p({example['gold']}) = {example['p_gold']:.3f}, predicted {example['predicted']}: "
                  f"{example['text'][:100]}")
        print("report files: " + ", ".join(report.values()))
    return 0
