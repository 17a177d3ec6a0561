"""The Eole side of ``peers.py multi30k`` (runs in the peers' venv): ``eole build_vocab`` then ``eole train`` of a
Transformer of the Multi30k size (3 + 3 layers, hidden 256, feed-forward 512, 8 heads, shared
vocabulary and embeddings, Eole's noam schedule), on the files ``peers.py`` wrote (``train.de`` / ``train.en``,
``val.*``: whitespace-separated tokens, the tokens seqlab's ``split`` tokenizer gives). A checkpoint every
``--checkpoint-steps``; ``score`` translates the test file with each (beam 5, off the clock) and writes the
hypotheses with the seconds of training each had (its folder's time less the start of ``eole train``).

    python peers_eole.py train --data DIR --out DIR --warmup 1000     # until killed or --steps
    python peers_eole.py score --data DIR --out DIR --log test.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

import yaml


def config(args) -> dict:
    data, out = Path(args.data), Path(args.out)
    return {
        "save_data": str(out), "src_vocab": str(out / "vocab.shared"), "share_vocab": True, "overwrite": True,
        "seed": args.seed, "src_words_min_frequency": 2, "tgt_words_min_frequency": 2,
        "data": {"corpus_1": {"path_src": str(data / "train.de"), "path_tgt": str(data / "train.en")},
                 "valid": {"path_src": str(data / "val.de"), "path_tgt": str(data / "val.en")}},
        "model": {"architecture": "transformer", "hidden_size": 256, "share_embeddings": True,
                  "share_decoder_embeddings": True,
                  "embeddings": {"word_vec_size": 256, "position_encoding": True},
                  "encoder": {"layers": 3, "heads": 8, "transformer_ff": 512},
                  "decoder": {"layers": 3, "heads": 8, "transformer_ff": 512}},
        "training": {"model_path": str(out / "model"), "train_steps": args.steps, "valid_steps": args.checkpoint_steps,
                     "save_checkpoint_steps": args.checkpoint_steps, "keep_checkpoint": -1, "batch_type": "tokens",
                     "batch_size": 4096, "world_size": 1, "gpu_ranks": [], "num_workers": 0, "optim": "adam",
                     "adam_beta2": 0.998, "learning_rate": 2.0, "decay_method": "noam", "warmup_steps": args.warmup,
                     "label_smoothing": 0.1, "dropout": [0.1], "attention_dropout": [0.1], "max_grad_norm": 0.0,
                     "param_init_method": "xavier_uniform", "normalization": "tokens"},
    }


def eole(*arguments: str, log: Path | None = None) -> None:
    executable = Path(os.sys.executable).parent / "eole"
    with open(log, "a") if log else open(os.devnull, "w") as sink:
        subprocess.run([str(executable), *arguments], check=True, stdout=sink, stderr=subprocess.STDOUT)


def train(args) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(yaml.safe_dump(config(args)), encoding="utf-8")
    eole("build_vocab", "-config", str(out / "config.yaml"), "-n_sample", "-1", log=out / "eole.log")
    (out / "started").write_text(str(time.time()))
    eole("train", "-config", str(out / "config.yaml"), log=out / "eole.log")


def score(args) -> None:
    out, data = Path(args.out), Path(args.data)
    started = float((out / "started").read_text())
    steps = sorted((out / "model").glob("step_*"), key=lambda p: int(p.name.split("_")[1]))
    with open(args.log, "w", encoding="utf-8") as log:
        for step in steps:
            pred = out / f"pred-{step.name}.en"
            eole("predict", "-model_path", str(step), "-src", str(data / "test.de"), "-output", str(pred),
                 "-beam_size", "5", "-batch_size", "64", log=out / "predict.log")
            seconds = max(f.stat().st_mtime for f in step.iterdir()) - started
            log.write(json.dumps({"step": int(step.name.split("_")[1]), "train_seconds": seconds,
                                  "hypotheses": pred.read_text(encoding="utf-8").splitlines()}) + "\n")
            log.flush()
            print(f"{step.name}: {seconds:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("train", "score"))
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--checkpoint-steps", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=4000, help="noam warm-up steps (default 4,000: Eole's recipes)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    (train if args.action == "train" else score)(args)


if __name__ == "__main__":
    main()
