"""seqlab tag DIR [TEXT … | --input FILE] — token/tag columns, or JSON with --json."""

from __future__ import annotations

import argparse

from .output import add_device_flag, add_inference_flags, add_input_flags, add_json_flag, emit_json, load_predictor, read_texts

HELP = "tag the tokens of sentences with a saved sequence labeller"


def add_parser(sub) -> None:
    p = sub.add_parser("tag", help=HELP, description=HELP + ": one sentence per TEXT argument, per line of --input, "
                       "or per line of standard input; tokens are split as the model's recipe says (data.tokenizer). "
                       "--json adds the chunks / entities with their character offsets.")
    p.add_argument("model_dir", metavar="DIR", help="run directory or model directory of a tagging model")
    p.add_argument("texts", nargs="*", metavar="TEXT", help="sentences to tag (or --input, or standard input)")
    add_input_flags(p, "one sentence")
    add_inference_flags(p)
    add_device_flag(p)
    add_json_flag(p)


def run(args: argparse.Namespace) -> int:
    texts = read_texts(args, "tag")
    predictor = load_predictor(args, "tag", ("tagging",))
    keep = [i for i, t in enumerate(texts) if t.strip()]  # an empty line is an empty sentence, kept in place
    tagged = predictor.predict([texts[i] for i in keep]) if keep else []
    results = [{"text": t, "tokens": [], "tags": [], "spans": []} for t in texts]
    for i, r in zip(keep, tagged):
        results[i] = r
    if args.json:
        emit_json({"sentences": results})
    else:
        for r in results:
            for token, tag in zip(r["tokens"], r["tags"]):
                print(f"{token}\t{tag}")
            print()
    return 0
