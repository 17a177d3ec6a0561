"""seqlab tag DIR [TEXT … | --file F] — token/tag columns, or JSON with --json."""

from __future__ import annotations

import argparse

from ..data.readers import TaggedSentence
from ..evaluation.evaluate import load_task
from ..tasks.tagging import TaggingTask
from .output import add_json_flag, emit_json, read_texts

HELP = "tag the tokens of sentences with a saved sequence labeller"


def add_parser(sub) -> None:
    p = sub.add_parser("tag", help=HELP, description=HELP + ": one sentence per TEXT argument, per line of --file, "
                       "or per line of standard input; tokens are split as the model's recipe says (data.tokenizer).")
    p.add_argument("model_dir", metavar="DIR", help="run directory or model directory of a tagging model")
    p.add_argument("texts", nargs="*", metavar="TEXT")
    p.add_argument("--file", help="one sentence per line")
    add_json_flag(p)


def run(args: argparse.Namespace) -> int:
    texts = read_texts(args, "tag")
    art, task = load_task(args.model_dir)
    if not isinstance(task, TaggingTask):
        raise ValueError(f"{args.model_dir}: `seqlab tag` needs a tagging model; this one is {task.name} (try predict)")
    sentences = [TaggedSentence(tuple(task.tokenizer(t))) for t in texts]
    keep = [i for i, s in enumerate(sentences) if s.tokens]
    tagged = task.predict_split(art.model, task.encode([sentences[i] for i in keep]))
    results = [{"text": t, "tokens": [], "tags": []} for t in texts]
    for i, tags in zip(keep, tagged):
        results[i].update(tokens=list(sentences[i].tokens), tags=tags)
    if args.json:
        emit_json({"sentences": results})
    else:
        for r in results:
            for token, tag in zip(r["tokens"], r["tags"]):
                print(f"{token}\t{tag}")
            print()
    return 0
