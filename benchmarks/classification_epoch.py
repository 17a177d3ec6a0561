"""One training epoch of the MR BiLSTM classifier: seqlab's length-bucketed batches against the plain
PyTorch tutorial loop (shuffled DataLoader, each batch padded to its longest sentence, no bucketing).

Same model class, same initial weights, same optimiser, same examples; both loops pack the padded batch
for the LSTM. Runs the two alternately ``--repeats`` times in one process and prints medians and the ratio.

    SEQLAB_DATA_DIR=../shared/datasets python benchmarks/classification_epoch.py [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from seqlab import runtime
from seqlab.config import DataConfig
from seqlab.data.batching import pad
from seqlab.models.registry import build
from seqlab.tasks.classification.task import ClassificationTask

BATCH = 32


def seqlab_epoch(task, model, split, seed):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    tokens = cells = 0
    for batch in task.batches(split, BATCH, torch.Generator().manual_seed(seed), shuffle=True, bucket=True):
        loss = F.cross_entropy(model(batch.ids, batch.lengths), batch.labels)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        tokens += batch.n_tokens
        cells += batch.ids.numel()
    return tokens, cells


def tutorial_epoch(task, model, split, seed):
    """What the PyTorch tutorials write: a DataLoader with shuffle=True and a pad-to-longest collate."""
    pairs = list(zip(split.ids, split.labels))

    def collate(items):
        ids, lengths = pad([i for i, _ in items], task.vocab.pad_id)
        return ids, lengths, torch.tensor([l for _, l in items])

    loader = DataLoader(pairs, batch_size=BATCH, shuffle=True, collate_fn=collate,
                        generator=torch.Generator().manual_seed(seed))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    tokens = cells = 0
    for ids, lengths, labels in loader:
        loss = F.cross_entropy(model(ids, lengths), labels)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        tokens += int(lengths.sum())
        cells += ids.numel()
    return tokens, cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    runtime.tune_allocator()
    threads = runtime.set_threads(args.threads)
    task, splits = ClassificationTask.from_recipe(DataConfig(dataset="mr", tokenizer="kim"))
    train = task.encode(splits.train)
    section = task.model_section({"name": "rnn_classifier", "embed_dim": 128, "hidden_size": 128, "pooling": "max"})
    torch.manual_seed(0)
    initial = build(section)[0].state_dict()
    times = {"seqlab (bucketed)": [], "tutorial (pad to longest)": []}
    info = {}
    for r in range(args.repeats):
        for name, fn in (("seqlab (bucketed)", seqlab_epoch), ("tutorial (pad to longest)", tutorial_epoch)):
            model = build(section)[0]
            model.load_state_dict(initial)
            t0 = time.perf_counter()
            tokens, cells = fn(task, model, train, seed=r)
            times[name].append(time.perf_counter() - t0)
            info[name] = {"tokens": tokens, "pad_fraction": 1 - tokens / cells}
    rows = {}
    for name, ts in times.items():
        med = statistics.median(ts)
        rows[name] = {"seconds_per_epoch": med, "tokens_per_s": info[name]["tokens"] / med,
                      "pad_fraction": info[name]["pad_fraction"], "runs": ts}
    ratio = rows["tutorial (pad to longest)"]["seconds_per_epoch"] / rows["seqlab (bucketed)"]["seconds_per_epoch"]
    print(f"MR BiLSTM (E=H=128, max pooling), one epoch of {len(train)} sentences, batch {BATCH}, {threads} threads, "
          f"torch {torch.__version__}, median of {args.repeats}")
    for name, row in rows.items():
        print(f"  {name:<28} {row['seconds_per_epoch']:7.2f} s/epoch  {row['tokens_per_s']:9,.0f} tokens/s  "
              f"pad fraction {row['pad_fraction']:.3f}")
    print(f"  speed-up of seqlab's bucketed batches: {ratio:.2f}x")
    print(json.dumps({"benchmark": "classification_epoch", "threads": threads, "rows": rows, "speedup": ratio}))


if __name__ == "__main__":
    main()
