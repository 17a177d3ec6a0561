"""seqlab translate DIR [TEXT … | --input FILE] [--beam K] [--png FILE] — decode with a seq2seq model."""

from __future__ import annotations

import argparse

from .output import add_device_flag, add_input_flags, add_json_flag, emit_json, load_predictor, positive_int, read_texts

HELP = "translate / transcribe texts with a saved sequence-to-sequence model"


def add_parser(sub) -> None:
    p = sub.add_parser("translate", help=HELP, description=HELP + ": one source per TEXT argument, per line of --input, "
                       "or per line of standard input (for grapheme-to-phoneme models, a word).")
    p.add_argument("model_dir", metavar="DIR", help="run directory or model directory of a seq2seq model")
    p.add_argument("texts", nargs="*", metavar="TEXT", help="sources to translate (or --input, or standard input)")
    add_input_flags(p, "one source")
    p.add_argument("--beam", type=positive_int, default=None, metavar="K", help="beam width (default: the recipe's data.beam)")
    p.add_argument("--n-best", type=positive_int, default=1, metavar="N", help="print the N best hypotheses with their scores")
    p.add_argument("--penalty", choices=["none", "average", "gnmt"], default="average",
                   help="length normalisation for ranking hypotheses (default average)")
    p.add_argument("--png", "--show-attention", dest="show_attention", metavar="FILE",
                   help="also write the first text's attention heatmap to FILE (--show-attention: the old spelling)")
    add_device_flag(p)
    add_json_flag(p)


def run(args: argparse.Namespace) -> int:
    texts = read_texts(args, "translate", skip_empty=True)
    predictor = load_predictor(args, "translate", ("seq2seq",))
    options = {"beam": args.beam, "n_best": args.n_best, "penalty": args.penalty}
    if args.n_best > (args.beam or predictor.default_beam):
        raise ValueError(f"--n-best {args.n_best} needs --beam of at least {args.n_best}")
    results = predictor.predict(texts, {k: v for k, v in options.items() if v is not None},
                                attention=bool(args.show_attention))
    if args.show_attention:
        from ..evaluation.plots import attention_heatmap

        shown = results[0]["hypotheses"][0]["attention"]  # the rows beam search kept for this hypothesis
        attention_heatmap(shown["source"], shown["target"], shown["weights"], args.show_attention)
    if args.json:
        emit_json({"beam": args.beam or predictor.default_beam, "results": results})
    else:
        for r in results:
            if args.n_best == 1:
                print(r["hypotheses"][0]["text"])
            else:
                print(r["source"])
                for h in r["hypotheses"]:
                    print(f"  {h['score']:8.3f}  {h['text']}")
    return 0
