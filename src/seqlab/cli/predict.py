"""seqlab predict DIR [TEXT … | --input FILE] [-o NAME=VALUE …] — any model's answer for each text."""

from __future__ import annotations

import argparse

from ..tasks import summary
from .output import (ExamplesFormatter, add_device_flag, add_inference_flags, add_input_flags, add_json_flag, emit_json, load_predictor, parse_options,
                     read_texts)

HELP = "run a saved model of any task on texts (classify, tag, continue, translate)"


def add_parser(sub) -> None:
    p = sub.add_parser(
        "predict", help=HELP, formatter_class=ExamplesFormatter,
        description=HELP + ": give texts as arguments, --input FILE, or on standard input. The results are the same "
        "JSON as seqlab.inference and `seqlab serve`'s /v1/MODEL/predict.",
        epilog="examples:  seqlab predict runs/quickstart 'a gripping, funny film'\n"
               "           seqlab predict runs/g2p hello -o n_best=3 -o beam=5 --json\n"
               "           seqlab predict runs/quickstart --list-options")
    p.add_argument("model_dir", metavar="DIR", help="run directory or model directory")
    p.add_argument("texts", nargs="*", metavar="TEXT", help="texts to run the model on (or --input, or standard input)")
    add_input_flags(p, "one text")
    p.add_argument("--list-options", action="store_true", help="list the model's inference options and exit")
    add_inference_flags(p)
    add_device_flag(p)
    add_json_flag(p)


def run(args: argparse.Namespace) -> int:
    predictor = load_predictor(args, "predict")
    if args.list_options:
        described = predictor.describe()
        if args.json:
            emit_json(described["options"])
        for name, o in described["options"].items():
            print(f"{name} ({o['type']}, default {o['default']!r}): {o['help']}"
                  + (f"; one of {', '.join(o['choices'])}" if o.get("choices") else ""))
        return 0
    for i, text in enumerate(args.texts, start=1):  # as over HTTP; an empty line of an --input file keeps its place
        if not text.strip() and not predictor.empty_input_ok:
            raise ValueError(f"TEXT {i}: empty text (give a text with at least one token)")
    texts = read_texts(args, "predict")
    # an empty line of a file stays in its place, marked, so that output lines up with input
    keep = [i for i, t in enumerate(texts) if t.strip() or predictor.empty_input_ok]
    found = predictor.predict([texts[i] for i in keep], parse_options(args.options)) if keep else []
    results: list[dict] = [{"text": t, "skipped": "empty text"} for t in texts]
    for i, r in zip(keep, found):
        results[i] = r
    if args.json:
        emit_json({"task": predictor.task_name, "predictions": results})
    else:
        for r in results:
            print("(empty text)" if "skipped" in r else summary(predictor.task_name, r))
    return 0
