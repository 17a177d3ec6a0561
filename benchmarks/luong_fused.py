"""Training speed of Luong attention without input feeding: the fused path (the decoder's recurrent layer over the
whole target in one call, the attention of every step as batched products) against the per-step loop it replaces
(``decode_step`` once per target token), the same model, batches and weights, side by side in one run: training
tokens/s over forward + backward + Adam step, median of ``--repeats`` passes over ``--batches`` Multi30k batches.

    SEQLAB_DATA_DIR=../shared/datasets python benchmarks/luong_fused.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

from seqlab import runtime
from seqlab.tasks import load_recipe
from seqlab.data.batching import IGNORE_INDEX
from seqlab.models import registry
from seqlab.tasks import get_task


def looped(model, batch):
    state = model.encode(batch.src, batch.src_lengths)
    steps = []
    for t in range(batch.tgt_in.size(1)):
        logits, state = model.decode_step(batch.tgt_in[:, t], state)
        steps.append(logits)
    return torch.stack(steps, 1)


def fused(model, batch):
    return model(batch.src, batch.src_lengths, batch.tgt_in)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="multi30k-de-en-lstm-luong")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runtime.tune_allocator()
    threads = runtime.set_threads(None)
    recipe = load_recipe(args.recipe, ["model.input_feeding=false", "model.dropout=0.0"])
    task, splits = get_task(recipe.task).from_recipe(recipe.data)
    split = task.encode(splits.train)
    batches = list(task.batches(split, recipe.train.batch_size, torch.Generator().manual_seed(0), shuffle=True))[: args.batches]
    tokens = sum(b.n_tokens for b in batches)
    speed, losses = {}, {}
    for name, run in (("per-step loop", looped), ("fused", fused)):
        torch.manual_seed(0)
        model, _ = registry.build(task.model_section(recipe.model), recipe.source)
        optimizer = torch.optim.Adam(model.parameters(), 1e-3)
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            for batch in batches:
                logits = run(model, batch)
                loss = F.cross_entropy(logits.flatten(0, 1), batch.tgt_out.flatten(), ignore_index=IGNORE_INDEX)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            times.append(time.perf_counter() - t0)
        speed[name], losses[name] = tokens / statistics.median(times), loss.item()
    row = {"recipe": args.recipe, "threads": threads, "batches": len(batches), "tokens": tokens,
           "loop_tokens_per_s": speed["per-step loop"], "fused_tokens_per_s": speed["fused"],
           "speedup": speed["fused"] / speed["per-step loop"],
           "last_loss_difference": abs(losses["fused"] - losses["per-step loop"])}
    print(json.dumps(row))
    print(f"{args.recipe} (input_feeding false), {len(batches)} batches, {threads} threads: per-step loop "
          f"{row['loop_tokens_per_s']:,.0f} tokens/s, fused {row['fused_tokens_per_s']:,.0f} tokens/s "
          f"({row['speedup']:.2f}×); last loss differs by {row['last_loss_difference']:.2g}")


if __name__ == "__main__":
    main()
