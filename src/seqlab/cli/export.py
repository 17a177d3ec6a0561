"""seqlab export DIR --format onnx [--int8] [--out OUT] — a model for runtimes without PyTorch."""

from __future__ import annotations

import argparse
from pathlib import Path

from .output import ExamplesFormatter, add_json_flag, emit_json

HELP = "export a trained model to ONNX (variable lengths exact), optionally int8-quantised"


def add_parser(sub) -> None:
    p = sub.add_parser(
        "export", help=HELP, formatter_class=ExamplesFormatter,
        description=HELP + ". The directory written holds model.onnx and export.json (tokenizer, vocabulary, labels, "
        "the recipe's data section); `seqlab predict`, `seqlab evaluate` and `seqlab serve` accept it and run it "
        "with onnxruntime. Needs the onnx extra: pip install 'seqlab[onnx]'.",
        epilog="examples:  seqlab export runs/quickstart --out runs/quickstart-onnx\n"
               "           seqlab export runs/quickstart --int8 --out runs/quickstart-int8\n"
               "           seqlab predict runs/quickstart-onnx 'a gripping, funny film'")
    p.add_argument("model_dir", metavar="DIR", help="run directory or model directory (a classifier, tagger, recurrent "
                   "language model or recurrent seq2seq model)")
    p.add_argument("--format", choices=["onnx"], default="onnx", help="export format (default onnx)")
    p.add_argument("--int8", action="store_true", help="dynamic int8 quantisation of the weights (onnxruntime)")
    p.add_argument("--out", metavar="OUT", help="directory to write (default: DIR-onnx, or DIR-int8)")
    add_json_flag(p)


def run(args: argparse.Namespace) -> int:
    from ..export.onnx import export

    source = Path(args.model_dir)
    out = Path(args.out) if args.out else source.with_name(source.name + ("-int8" if args.int8 else "-onnx"))
    described = export(source, out, args.int8)
    size = sum(p.stat().st_size for p in out.glob("*.onnx"))
    if args.json:
        emit_json({"out": str(out), "bytes": size, **{k: described[k] for k in ("task", "model", "int8")}})
    else:
        print(f"exported {described['model']} ({described['task']}{', int8' if args.int8 else ''}) to {out}/ "
              f"({', '.join(described['graphs'])}: {size / 1e6:.1f} MB); try: seqlab predict {out} 'some text'")
    return 0
