"""The DeepPhonemizer side of ``peers.py g2p`` (runs in the peers' venv): DeepPhonemizer's own config
(``dp/configs/autoreg_config.yaml`` or ``forward_config.yaml``, as the package ships them) sized as seqlab's G2P
Transformer (d_model 256, 4 heads; 3 layers each side for the autoregressive model, 6 encoder layers for the
forward one), trained on the files ``peers.py`` wrote (``train.tsv``, ``dev.tsv``: ``word<TAB>phonemes``).

ARPAbet phonemes with stress (``AH0``) are several characters, and DeepPhonemizer reads a phoneme string one
character at a time, so each phoneme symbol is mapped to one private-use character and back (a bijection; the
map is in ``symbols.json``). DeepPhonemizer saves its checkpoints with pickled objects, so its own files are read
back with ``torch.load(weights_only=False)``, in this venv only.

    python peers_dp.py train --data DIR --model autoreg --out DIR --seed 1     # runs until killed or done
    python peers_dp.py score --data DIR --out DIR --log test.jsonl            # every checkpoint on the test words
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from pathlib import Path

import yaml

FIRST = 0xE000  # private-use code points: one per phoneme symbol


def read_pairs(path: Path) -> list[tuple[str, list[str]]]:
    rows = path.read_text(encoding="utf-8").splitlines()[1:]
    return [(word, phonemes.split()) for word, phonemes in (row.split("\t", 1) for row in rows if row)]


def train(args) -> None:
    import torch
    from dp.preprocess import preprocess
    from dp.train import train as dp_train

    folder, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train_pairs, dev_pairs = read_pairs(folder / "train.tsv"), read_pairs(folder / "dev.tsv")
    symbols = sorted({p for _, ph in train_pairs + dev_pairs for p in ph})
    code = {s: chr(FIRST + i) for i, s in enumerate(symbols)}
    letters = sorted({c for w, _ in train_pairs + dev_pairs for c in w})
    (out / "symbols.json").write_text(json.dumps(code, indent=0), encoding="utf-8")
    import dp

    name = "autoreg_config.yaml" if args.model == "autoreg" else "forward_config.yaml"
    config = yaml.safe_load((Path(dp.__file__).parent / "configs" / name).read_text())
    config["paths"] = {"checkpoint_dir": str(out / "checkpoints"), "data_dir": str(out / "datasets")}
    config["preprocessing"].update(languages=["en_us"], text_symbols=letters, phoneme_symbols=list(code.values()),
                                   lowercase=False)
    config["model"].update(d_model=256, heads=4, layers=3 if args.model == "autoreg" else 6)
    if args.warmup is not None:  # DeepPhonemizer's default, 10,000 steps, is hours of one CPU thread
        config["training"]["warmup_steps"] = args.warmup
    # checkpoints every --checkpoint-steps for the curve; its own validation and generation on dev (which
    # drive its learning-rate plateau) stay at the config's 10,000 steps: at 2,000 they took 4.5 minutes each
    config["training"].update(checkpoint_steps=args.checkpoint_steps, store_phoneme_dict_in_model=False)
    (out / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")

    def rows(pairs):
        return [("en_us", word, "".join(code[p] for p in ph)) for word, ph in pairs]

    preprocess(config_file=str(out / "config.yaml"), train_data=rows(train_pairs), val_data=rows(dev_pairs),
               deduplicate_train_data=False)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    (out / "started").write_text(str(time.time()))  # the training clock starts here, after preprocessing
    dp_train(rank=0, num_gpus=0, config_file=str(out / "config.yaml"))


def score(args) -> None:
    """Every saved checkpoint (``model_step_*``, ``latest_model``) on the test words, greedy, with the seconds of
    training it had (its file's time less the start)."""
    import torch

    torch.load = functools.partial(torch.load, weights_only=False)  # DeepPhonemizer's own pickled checkpoints
    torch.set_num_threads(args.threads)
    from dp.phonemizer import Phonemizer

    out = Path(args.out)
    started = float((out / "started").read_text())
    back = {v: k for k, v in json.loads((out / "symbols.json").read_text(encoding="utf-8")).items()}
    words = sorted({w for w, _ in read_pairs(Path(args.data) / "test.tsv")})
    found = sorted((out / "checkpoints").glob("model_step_*.pt"), key=lambda p: p.stat().st_mtime)
    latest = out / "checkpoints" / "latest_model.pt"
    if latest.exists():
        found.append(latest)
    with open(args.log, "w", encoding="utf-8") as log:
        for path in found:
            phonemizer = Phonemizer.from_checkpoint(str(path), device="cpu")
            result = phonemizer.phonemise_list(words, lang="en_us", punctuation="", expand_acronyms=False,
                                               batch_size=64)
            pred = {w: [back[c] for c in phones if c in back] for w, phones in zip(words, result.phonemes)}
            checkpoint = torch.load(str(path), map_location="cpu")
            log.write(json.dumps({"checkpoint": path.name, "step": checkpoint.get("step"),
                                  "train_seconds": path.stat().st_mtime - started, "pred": pred}) + "\n")
            log.flush()
            print(f"{path.name}: step {checkpoint.get('step')}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("train", "score"))
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--model", choices=("autoreg", "forward"), default="autoreg")
    parser.add_argument("--checkpoint-steps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--warmup", type=int, help="warm-up steps (default: the config's, 10,000)")
    parser.add_argument("--log")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    (train if args.action == "train" else score)(args)


if __name__ == "__main__":
    main()
