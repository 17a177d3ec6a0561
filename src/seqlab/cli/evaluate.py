"""seqlab evaluate DIR [--data FILE] [--split test]"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from ..evaluation.evaluate import evaluate_dir
from .output import add_json_flag, emit_json, non_negative_int, positive_int, print_scores

HELP = "evaluate a saved model on a split of its data or on a labelled file"


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help=HELP, description=HELP + ".")
    p.add_argument("model_dir", metavar="DIR", help="run directory or model directory")
    p.add_argument("--split", default="test", choices=["train", "dev", "test"], help="split of the recipe's data (default test)")
    p.add_argument("--data", help="a labelled file instead (tsv, csv, jsonl with text/label columns, or a folder)")
    p.add_argument("--format", dest="data_format", choices=["tsv", "csv", "jsonl", "folder", "conll", "conllu"],
                   help="format of --data (default: from its suffix; conll for a tagging model)")
    p.add_argument("--report", metavar="DIR", help="also write confusion.png, curves.png and report.json (per-class "
                   "scores, worst-classified examples) into DIR")
    p.add_argument("--beam", type=positive_int, default=None, metavar="K", help="seq2seq models: decode with beam width K")
    p.add_argument("--batch-size", type=positive_int, default=None, metavar="N",
                   help="evaluation batch size (default: the recipe's train.eval_batch_size, which reproduces the run's figures)")
    p.add_argument("--worst", type=non_negative_int, default=10, help="worst-classified examples to list with --report (default 10)")
    add_json_flag(p)


def evaluate_export(args: argparse.Namespace) -> dict:
    """An ONNX export (``seqlab export``) of a classifier or tagger on a split of its recipe's data or on --data,
    through onnxruntime, scored as ``seqlab evaluate`` scores the trained model."""
    from ..config import from_dict
    from ..data.readers import read_examples
    from ..evaluation.evaluate import guess_format
    from ..inference import load
    from ..tasks import get_task
    from ..tasks.tagging import tag_scores

    if args.report or args.beam:
        raise ValueError("--report and --beam need the trained model directory, not an ONNX export")
    predictor = load(args.model_dir)
    if predictor.task_name not in ("classification", "tagging"):
        raise ValueError(f"{args.model_dir}: evaluating an exported {predictor.task_name} model is not supported yet; "
                         "evaluate its run directory (the export gives the same outputs)")
    task = get_task(predictor.task_name)
    cfg = from_dict(task.data_config, predictor.meta.get("data") or {}, "data", str(predictor.path), lenient=True)
    source = f"{cfg.dataset or cfg.train}:{args.split}"
    if predictor.task_name == "tagging":
        if args.data:  # a CoNLL / CoNLL-U file read as the recipe reads its own
            cfg.dataset, cfg.train, cfg.dev, cfg.test = None, str(args.data), str(args.data), str(args.data)
            cfg.format = args.data_format or ("conllu" if str(args.data).endswith((".conllu", ".conllu.gz")) else "conll")
            source = str(args.data)
        sentences = [s for s in task.load_split(cfg, "test" if args.data else args.split, source) if s.tokens]
        predicted = [tags for start in range(0, len(sentences), 256)
                     for tags in predictor.tag([list(s.tokens) for s in sentences[start:start + 256]])]
        chunked = any(t.startswith(("B-", "S-")) for t in predictor.tags)
        scores = tag_scores([list(s.tags) for s in sentences], predicted, chunked)
    else:
        if args.data:
            examples = read_examples(args.data, args.data_format or guess_format(args.data), cfg.text_field,
                                     cfg.label_field, cfg.encoding)
            source = str(args.data)
        else:
            examples = task.load_split(cfg, args.split, str(predictor.path))
        scores = predictor.evaluate([ex.text for ex in examples], [ex.label for ex in examples])
    return {"model": str(predictor.path), "runtime": predictor.describe()["runtime"], "data": source, **scores}


def run(args: argparse.Namespace) -> int:
    from ..serving.onnx_predictor import is_export

    if is_export(args.model_dir):
        scores = evaluate_export(args)
    else:
        scores = evaluate_dir(args.model_dir, args.split, args.data, args.data_format, batch_size=args.batch_size,
                              report_dir=args.report, worst=args.worst, beam=args.beam)
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
