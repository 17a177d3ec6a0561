"""seqlab average RUN [--last K] [--out OUT] — checkpoint averaging over a run's last epochs."""

from __future__ import annotations

import argparse
from pathlib import Path

from .output import ExamplesFormatter, add_json_flag, emit_json

HELP = "average the weights of a run's last epochs into one model (checkpoint averaging)"


def add_parser(sub) -> None:
    p = sub.add_parser(
        "average", help=HELP, formatter_class=ExamplesFormatter,
        description=HELP + ", as fairseq's average_checkpoints.py: the mean of every weight over the models the run "
        "kept with train.keep_epochs (RUN/epochs/epoch-NNN). The result is a model directory like any other: "
        "evaluate it, use it, export it.",
        epilog="examples:  seqlab train recipes/g2p-cmudict-bilstm-attn.yaml --set train.keep_epochs=5 --out runs/g2p\n"
               "           seqlab average runs/g2p --last 5\n"
               "           seqlab evaluate runs/g2p/averaged --beam 5")
    p.add_argument("run", metavar="RUN", nargs="?", help="a run directory trained with train.keep_epochs > 0")
    p.add_argument("--last", type=int, metavar="K", help="average the last K epoch models (default: all kept)")
    p.add_argument("--models", nargs="+", metavar="DIR", help="average these model directories (of one run) instead "
                   "of RUN's epoch models; needs --out")
    p.add_argument("--out", metavar="OUT", help="directory to write (default RUN/averaged)")
    add_json_flag(p)


def run(args: argparse.Namespace) -> int:
    from ..training.averaging import epoch_models, save_average

    if (args.run is None) == (args.models is None):
        raise ValueError("give a run directory (RUN) or --models DIR ..., one of the two")
    if args.models and not args.out:
        raise ValueError("--models: give --out, the directory to write the average to")
    models = [Path(m) for m in args.models] if args.models else epoch_models(args.run, args.last)
    out = save_average(models, Path(args.out) if args.out else Path(args.run) / "averaged")
    if args.json:
        emit_json({"out": str(out), "models": [str(m) for m in models]})
    else:
        print(f"averaged {len(models)} models ({', '.join(m.name for m in models)}) into {out}/; "
              f"try: seqlab evaluate {out}")
    return 0
