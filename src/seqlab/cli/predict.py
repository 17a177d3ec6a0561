"""seqlab predict DIR [TEXT … | --file F]"""

from __future__ import annotations

import argparse

from ..serving.predictor import Predictor
from .output import add_json_flag, emit_json, read_texts

HELP = "classify texts with a saved model"


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help=HELP, description=HELP + ": give texts as arguments, --file, or on standard input.")
    p.add_argument("model_dir", metavar="DIR", help="run directory or model directory")
    p.add_argument("texts", nargs="*", metavar="TEXT")
    p.add_argument("--file", help="one text per line")
    add_json_flag(p)


def run(args: argparse.Namespace) -> int:
    texts = read_texts(args, "classify")
    predictions = Predictor(args.model_dir).predict(texts)
    if args.json:
        emit_json({"predictions": predictions})
    else:
        for p in predictions:
            print(f"{p['label']}\t{p['probability']:.3f}\t{p['text']}")
    return 0
