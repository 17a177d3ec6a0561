"""Language-model training speed on PTB, Zaremba et al.'s small sizes (2 × 200 LSTM, 10k words, batch 20,
20-step windows): seqlab's task + model + loop step against pytorch/examples' word_language_model approach
reproduced here (nn.Embedding → nn.LSTM → nn.Linear, hidden state repackaged between windows, mean
cross-entropy, clip 0.25, plain SGD update), side by side in one run, paired rounds over the same windows.

    SEQLAB_DATA_DIR=../shared/datasets python benchmarks/lm_training.py [--windows 300] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from seqlab import runtime
from seqlab.config import DataConfig
from seqlab.models.language_model import RecurrentLM, RecurrentLMConfig
from seqlab.tasks.language_model.task import LanguageModelTask


class ExampleRNNModel(nn.Module):
    """pytorch/examples word_language_model's RNNModel (LSTM, no tying), as its tutorial writes it."""

    def __init__(self, ntoken: int, ninp: int, nhid: int, nlayers: int, dropout: float = 0.0):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        for w in (self.encoder.weight, self.decoder.weight):
            nn.init.uniform_(w, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    def forward(self, x, hidden):  # x [T, B]
        emb = self.drop(self.encoder(x))
        out, hidden = self.rnn(emb, hidden)
        return self.decoder(self.drop(out)), hidden


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", type=int, default=300, help="training windows per timing (default 300)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--bptt", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=200)
    args = parser.parse_args()
    runtime.tune_allocator()
    threads = runtime.set_threads(None)
    cfg = DataConfig(dataset="ptb", tokenizer="split", lowercase=False, bptt=args.bptt)
    task, splits = LanguageModelTask.from_recipe(cfg)
    train = task.encode(splits.train)
    batches = list(task.batches(train, args.batch_size))[: args.windows]
    tokens = sum(b.n_tokens for b in batches)
    V, H, lr, clip = len(task.vocab), args.hidden, 20.0, 0.25

    torch.manual_seed(0)
    ours = RecurrentLM(RecurrentLMConfig(vocab_size=V, embed_dim=H, hidden_size=H, num_layers=2))
    peer = ExampleRNNModel(V, H, H, 2)
    opt = torch.optim.SGD(ours.parameters(), lr=lr)

    def seqlab_epoch() -> None:
        ours.train()
        for batch in batches:
            loss = task.loss(ours, batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(ours.parameters(), clip)
            opt.step()

    def example_epoch() -> None:  # word_language_model/main.py train(), minus logging
        peer.train()
        hidden = None
        for batch in batches:
            x, y = batch.inputs.t().contiguous(), batch.targets.t().contiguous()
            hidden = tuple(h.detach() for h in hidden) if hidden is not None else None
            peer.zero_grad()
            output, hidden = peer(x, hidden)
            loss = F.cross_entropy(output.view(-1, V), y.view(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(peer.parameters(), clip)
            for p in peer.parameters():
                p.data.add_(p.grad, alpha=-lr)

    runs = {"seqlab": seqlab_epoch, "word_language_model": example_epoch}
    for fn in runs.values():  # warm-up
        fn()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(args.repeats):
        order = list(runs) if r % 2 == 0 else list(reversed(runs))
        for name in order:
            t0 = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - t0)
    rows = {name: {"seconds": statistics.median(t), "tokens_per_s": tokens / statistics.median(t)} for name, t in times.items()}
    ratios = [b / a for a, b in zip(times["seqlab"], times["word_language_model"])]
    print(f"PTB small sizes: {len(batches)} windows of {args.batch_size}×{args.bptt}, {tokens:,} tokens, vocab {V:,}, "
          f"H={H}, 2 layers, {threads} threads, {args.repeats} paired rounds")
    for name, row in rows.items():
        print(f"  {name:<20} {row['seconds']:7.2f} s  {row['tokens_per_s']:10,.0f} training tokens/s")
    print(f"  seqlab / word_language_model: {statistics.median(ratios):.2f}x (median of paired ratios, "
          f"range {min(ratios):.2f}–{max(ratios):.2f})")
    print(json.dumps({"benchmark": "lm_training", "rows": rows, "ratio": statistics.median(ratios),
                      "ratios": ratios, "threads": threads, "tokens": tokens}))


if __name__ == "__main__":
    main()
