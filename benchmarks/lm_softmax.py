"""Training tokens/s of a word LSTM language model with the full softmax against the adaptive softmax, same sizes,
one thread, on IMDb's unlabelled reviews; then (``--tokens N``) both trained on the same N tokens and scored exactly
on the same held-out reviews, so the speed-up is read beside the perplexity it costs or saves.

    SEQLAB_DATA_DIR=../shared/datasets python benchmarks/lm_softmax.py --hidden 512 --vocab 33000 --steps 20
    SEQLAB_DATA_DIR=../shared/datasets python benchmarks/lm_softmax.py --tokens 2000000 --json runs/lm_softmax.json

Perplexity is exp(mean −log p) over every held-out token with the model's own exact distribution (the adaptive
softmax's sums to 1 over the vocabulary, tested), so the two numbers are comparable.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time

import torch

from seqlab.data.batching import bptt_stream, bptt_windows
from seqlab.data.datasets import corpus_texts
from seqlab.data.tokenizers import Tokenizer
from seqlab.data.vocab import Vocab
from seqlab.models.language_model import RecurrentLM, RecurrentLMConfig, detach_state


def corpus(reviews: int, vocab_size: int):
    tok = Tokenizer("basic_english", True)
    texts = [tok(t) for t in itertools.islice(corpus_texts("imdb:unsup"), reviews)]
    vocab = Vocab.build(texts[: -200], max_size=vocab_size - 4)
    ids = lambda part: torch.tensor([i for t in part for i in (*vocab.encode(t), vocab.eos_id)])  # noqa: E731
    return vocab, ids(texts[:-200]), ids(texts[-200:])


def build(softmax: str, vocab: int, hidden: int, cutoffs: list[int], seed: int) -> RecurrentLM:
    torch.manual_seed(seed)
    return RecurrentLM(RecurrentLMConfig(vocab_size=vocab, embed_dim=hidden, hidden_size=hidden, num_layers=1,
                                         tie_weights=True, softmax=softmax, cutoffs=cutoffs, dropout=0.1))


def train(model, ids, batch, bptt, steps, lr=1e-3):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    hidden, tokens, t0 = None, 0, time.perf_counter()
    windows = bptt_windows(bptt_stream(ids.tolist(), batch), bptt)
    for step, (x, y) in enumerate(itertools.islice(windows, steps)):
        total, hidden = model(x, hidden, targets=y)
        loss = total / y.numel()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        opt.step()
        hidden = detach_state(hidden)
        tokens += y.numel()
        if step == 1:  # the first two steps warm up (allocation, oneDNN primitives)
            tokens, t0 = 0, time.perf_counter()
    return tokens / (time.perf_counter() - t0), step + 1


@torch.no_grad()
def perplexity(model, ids, bptt=70):
    model.eval()
    total, hidden = 0.0, None
    x, y = ids[:-1].unsqueeze(0), ids[1:].unsqueeze(0)
    for s in range(0, x.size(1), bptt):
        scores, hidden = model(x[:, s:s + bptt], hidden)
        total -= scores.log_softmax(-1).gather(2, y[:, s:s + bptt].unsqueeze(2)).sum().item()
    return math.exp(total / y.numel())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--vocab", type=int, default=33000)
    ap.add_argument("--cutoffs", default="2000,10000")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--bptt", type=int, default=70)
    ap.add_argument("--steps", type=int, default=20, help="timed steps (after 2 warm-up steps) when --tokens is not given")
    ap.add_argument("--tokens", type=int, default=0, help="train each side on this many tokens and score perplexity")
    ap.add_argument("--reviews", type=int, default=20000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    vocab, train_ids, dev_ids = corpus(args.reviews, args.vocab)
    cutoffs = [int(c) for c in args.cutoffs.split(",")]
    steps = args.tokens // (args.batch * args.bptt) if args.tokens else args.steps + 2
    out = {"vocab": len(vocab), "hidden": args.hidden, "batch": args.batch, "bptt": args.bptt, "threads": args.threads,
           "train_tokens": int(train_ids.numel()), "dev_tokens": int(dev_ids.numel()), "cutoffs": cutoffs, "sides": {}}
    for softmax in ("full", "adaptive"):
        model = build(softmax, len(vocab), args.hidden, cutoffs, args.seed)
        rate, done = train(model, train_ids, args.batch, args.bptt, steps)
        side = {"tokens_per_s": round(rate, 1), "steps": done,
                "parameters": sum(p.numel() for p in model.parameters())}
        if args.tokens:
            side["dev_perplexity"] = round(perplexity(model, dev_ids), 2)
        out["sides"][softmax] = side
        print(softmax, side, flush=True)
    out["speedup"] = round(out["sides"]["adaptive"]["tokens_per_s"] / out["sides"]["full"]["tokens_per_s"], 2)
    print(json.dumps(out, indent=1))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
