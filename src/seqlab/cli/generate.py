"""seqlab generate DIR [--prompt TEXT] [--max-tokens N] [sampling options] — text from a language model,
streamed to the terminal as it is produced."""

from __future__ import annotations

import argparse
import sys

from .output import (ExamplesFormatter, add_device_flag, add_json_flag, emit_json, load_predictor, non_negative_float, positive_int,
                     probability)

HELP = "generate text from a saved language model"


def add_parser(sub) -> None:
    p = sub.add_parser(
        "generate", help=HELP,
        description=HELP + ". Tokens are sampled one at a time (softmax with temperature, optionally restricted to "
        "the top-k tokens or the top-p nucleus) and printed as they come. The same --seed gives the same text.",
        epilog="examples:  seqlab generate runs/shakespeare-char --prompt 'ROMEO:' --max-tokens 300 --top-p 0.9\n"
               "           seqlab generate runs/mr-conditional-lm --condition pos --samples 3",
        formatter_class=ExamplesFormatter)
    p.add_argument("model_dir", metavar="DIR", help="run directory or model directory of a language model")
    p.add_argument("--prompt", default="", help="text to continue (default: start a new line / sentence)")
    p.add_argument("--max-tokens", type=positive_int, default=100, metavar="N",
                   help="tokens to generate at most (default 100, at most 1000)")
    p.add_argument("--temperature", type=non_negative_float, default=1.0, help="softmax temperature; 0 means greedy (default 1)")
    p.add_argument("--top-k", type=positive_int, default=None, metavar="K", help="sample only among the K most likely tokens")
    p.add_argument("--top-p", type=probability, default=None, metavar="P", help="nucleus sampling: smallest set of mass ≥ P")
    p.add_argument("--greedy", action="store_true", help="always take the most likely token")
    p.add_argument("--seed", type=int, default=None, help="random seed, for reproducible samples")
    p.add_argument("--stop", action="append", default=[], metavar="TEXT", help="stop before this string (repeatable)")
    p.add_argument("--no-eos-stop", action="store_true", help="keep going past <eos> (word-level stream models)")
    p.add_argument("--condition", default=None, metavar="LABEL", help="conditional models: the label to generate for")
    p.add_argument("--samples", type=positive_int, default=1, metavar="N", help="how many samples (seeds SEED, SEED+1, …)")
    add_device_flag(p)
    add_json_flag(p)


def run(args: argparse.Namespace) -> int:
    predictor = load_predictor(args, "generate", ("language_model",))
    options = {"max_tokens": args.max_tokens, "top_k": args.top_k, "top_p": args.top_p, "stop": args.stop,
               "greedy": args.greedy or args.temperature == 0, "eos_stop": not args.no_eos_stop, "condition": args.condition}
    if args.temperature > 0:
        options["temperature"] = args.temperature
    samples = []
    for i in range(args.samples):
        seed = None if args.seed is None else args.seed + i
        if args.json:
            samples.append(predictor.predict([args.prompt], {**options, "seed": seed})[0])
            continue
        sys.stdout.write(args.prompt)
        for event in predictor.stream(args.prompt, {**options, "seed": seed}):
            if "text" in event:
                sys.stdout.write(event["text"])
                sys.stdout.flush()
            elif "error" in event:
                raise ValueError(event["error"])
        sys.stdout.write("\n" if args.samples == 1 or i == args.samples - 1 else "\n---\n")
    if args.json:
        emit_json({"samples": samples})
    return 0
