"""Short sequences: where the hand-derived BPTT path stops paying for its per-call cost.

seqlab's ``path="auto"`` sends a GRU (and an RNN from 8 steps on) to the equation path with the hand-derived
backward; a decoder that calls its layer one step at a time is the worst case for it. This times one layer
(B=64, I=H=256) on T = 1, 2, 4, 8, 16 steps, native (torch's kernel) against equation, training and
inference, in alternating pairs; the ratio is native time / equation time (> 1: the equation path is faster).

    python benchmarks/recurrent_short.py [--repeats 100]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from seqlab import runtime
from seqlab.layers.recurrent import GRU, RNN


def paired_ratio(native, equation, repeats: int) -> float:
    for _ in range(10):  # warm-up
        native(), equation()
    ratios = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        native()
        t1 = time.perf_counter()
        equation()
        t2 = time.perf_counter()
        ratios.append((t1 - t0) / (t2 - t1))
    return statistics.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args()
    runtime.tune_allocator()
    print(f"torch {torch.__version__}, {runtime.set_threads(None)} threads; native time / equation time")
    print("| cell | T | training | inference |\n| --- | --- | --- | --- |")
    for cls in (GRU, RNN):
        for T in (1, 2, 4, 8, 16):
            torch.manual_seed(0)
            x = torch.randn(64, T, 256, requires_grad=True)
            layers = {p: cls(256, 256, batch_first=True, path=p) for p in ("native", "equation")}

            def train(p):
                return lambda: layers[p](x)[0].sum().backward()

            def infer(p):
                def run():
                    with torch.no_grad():
                        layers[p](x)
                return run

            tr = paired_ratio(train("native"), train("equation"), args.repeats)
            inf = paired_ratio(infer("native"), infer("equation"), args.repeats)
            print(f"| {cls.__name__} | {T} | {tr:.2f} | {inf:.2f} |", flush=True)


if __name__ == "__main__":
    main()
