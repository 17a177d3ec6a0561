"""Recurrent layers side by side, one process, same shapes: training (forward + backward) and inference
tokens/s for seqlab's three paths (native: torch's fused kernels; equation: the cell equations with the
hand-derived backward of seqlab.layers.bptt; autograd: the cell equations stepped through autograd), torch.nn
(oneDNN padded, PackedSequence, and with oneDNN disabled), the per-gate nn.Linear loop tutorials write, and
Keras 3 (KERAS_BACKEND=torch) when installed. The path seqlab takes by default is marked "(default)".

Shapes (the issue's): A  B=64 T=50  I=128 H=256, one layer
                      B  the same, two layers, bidirectional, lengths uniform in [10, 50]
                      C  B=32 T=200 I=256 H=512, one layer
GFLOP/s count the matrix products only (2·B·T·G·H·(I+H) per layer and direction forward, ×3 for training)
against the matrix-product ceilings measured here (2048³: torch.mm, and oneDNN's float32 product). Each of
``--repeats`` rounds times every candidate once, in an order shuffled per round (so that no candidate always
follows the same one); figures are medians over rounds and ratios medians of the per-round (paired) ratios.

    python benchmarks/recurrent.py [--cells lstm,gru] [--shapes A,B,C] [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "torch")
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

from seqlab import runtime  # noqa: E402
from seqlab.layers.bptt import linear as bptt_linear  # noqa: E402
from seqlab.layers.bptt import onednn_matmul_available  # noqa: E402
from seqlab.layers.recurrent import GRU, LSTM  # noqa: E402

SHAPES = {
    "A": dict(B=64, T=50, I=128, H=256, layers=1, bidirectional=False, ragged=False),
    "B": dict(B=64, T=50, I=128, H=256, layers=2, bidirectional=True, ragged=True),
    "C": dict(B=32, T=200, I=256, H=512, layers=1, bidirectional=False, ragged=False),
}
GATES = {"lstm": 4, "gru": 3}


class NaiveLoop(nn.Module):
    """The tutorial loop: one nn.Linear per gate for x and for h, a Python loop over time (one layer, one way)."""

    def __init__(self, cell, I, H):
        super().__init__()
        self.cell, self.H = cell, H
        names = "ifgo" if cell == "lstm" else "rzn"
        self.x = nn.ModuleDict({g: nn.Linear(I, H) for g in names})
        self.h = nn.ModuleDict({g: nn.Linear(H, H) for g in names})

    def forward(self, x):
        B, T, _ = x.shape
        h = x.new_zeros(B, self.H)
        c = x.new_zeros(B, self.H)
        outs = []
        for t in range(T):
            xt = x[:, t]
            if self.cell == "lstm":
                i = torch.sigmoid(self.x["i"](xt) + self.h["i"](h))
                f = torch.sigmoid(self.x["f"](xt) + self.h["f"](h))
                g = torch.tanh(self.x["g"](xt) + self.h["g"](h))
                o = torch.sigmoid(self.x["o"](xt) + self.h["o"](h))
                c = f * c + i * g
                h = o * torch.tanh(c)
            else:
                r = torch.sigmoid(self.x["r"](xt) + self.h["r"](h))
                z = torch.sigmoid(self.x["z"](xt) + self.h["z"](h))
                n = torch.tanh(self.x["n"](xt) + r * self.h["n"](h))
                h = (1 - z) * n + z * h
            outs.append(h)
        return torch.stack(outs, 1)


def timeit(fn, repeats: int) -> float:
    fn()  # warm-up (allocations, oneDNN primitive creation)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def ceiling_gflops() -> dict:
    """2048³ matrix-product GFLOP/s: torch.mm (MKL) and, where available, oneDNN (what seqlab.layers.bptt uses)."""
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    out = {"torch.mm": 2 * 2048**3 / timeit(lambda: torch.mm(a, b), 5) / 1e9}
    if onednn_matmul_available():
        out["oneDNN"] = 2 * 2048**3 / timeit(lambda: bptt_linear(a, b), 5) / 1e9
    return out


def flops(cell, s, training):
    G, H, I = GATES[cell], s["H"], s["I"]
    dirs = 2 if s["bidirectional"] else 1
    total = 0
    for layer in range(s["layers"]):
        inp = I if layer == 0 else H * dirs
        total += 2 * s["B"] * s["T"] * G * H * (inp + H) * dirs
    return total * (3 if training else 1)


def candidates(cell, s, lengths):
    """name -> (module, forward(x) -> tensor to backprop)."""
    kw = dict(num_layers=s["layers"], bidirectional=s["bidirectional"], batch_first=True)
    ours_cls, ref_cls = (LSTM, nn.LSTM) if cell == "lstm" else (GRU, nn.GRU)
    I, H = s["I"], s["H"]
    ragged = lengths if s["ragged"] else None
    out = {}
    default = ours_cls(I, H, **kw).route(torch.zeros(1, s["T"], I))  # the route a batch of this shape takes
    for path, label in (("native", "seqlab native"), ("equation", "seqlab equation"), ("autograd", "seqlab autograd loop")):
        layer = ours_cls(I, H, path=path, **kw)
        out[label + (" (default)" if path.replace("equation", "bptt") == default else "")] = (
            layer, lambda x, layer=layer: layer(x, lengths=ragged)[0])
    if cell == "lstm":
        reg = LSTM(I, H, weight_drop=0.3, input_dropout=0.2, output_dropout=0.2, **kw)
        out["seqlab native + weight drop + locked dropout"] = (reg, lambda x: reg(x, lengths=ragged)[0])
    ref = ref_cls(I, H, **kw)
    out["torch.nn padded"] = (ref, lambda x: ref(x)[0])
    if s["ragged"]:
        def packed(x):
            p = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            return pad_packed_sequence(ref(p)[0], batch_first=True)[0]
        out["torch.nn packed"] = (ref, packed)

    def no_onednn(x):
        with torch.backends.mkldnn.flags(enabled=False):
            return ref(x)[0]
    out["torch.nn without oneDNN"] = (ref, no_onednn)
    if s["layers"] == 1 and not s["bidirectional"]:
        naive = NaiveLoop(cell, I, H)
        out["naive per-gate loop"] = (naive, naive)
    try:
        import keras

        def keras_layer():
            layer = (keras.layers.LSTM if cell == "lstm" else keras.layers.GRU)(H, return_sequences=True)
            return keras.layers.Bidirectional(layer) if s["bidirectional"] else layer

        stack = keras.Sequential([keras.layers.Input((s["T"], I))] + [keras_layer() for _ in range(s["layers"])])
        out[f"Keras {keras.__version__}"] = (None, lambda x: stack(x))  # padded, no mask: the cheaper case
    except ImportError:
        pass
    return out


def measure(cell, shape, repeats):
    """Each round times every candidate once (training step, then inference) in turn, so that drift in the
    machine's speed hits all of them alike; figures are medians over rounds, ratios medians of per-round ratios."""
    s = SHAPES[shape]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(s["B"], s["T"], s["I"], generator=g)
    lengths = torch.randint(10, s["T"] + 1, (s["B"],), generator=g) if s["ragged"] else torch.full((s["B"],), s["T"])
    tokens = int(lengths.sum())
    cands = candidates(cell, s, lengths)
    times = {name: {"train": [], "infer": []} for name in cands}

    def train_step(module, fwd):
        if module is not None:
            module.train()
        fwd(x).sum().backward()

    def infer(module, fwd):
        if module is not None:
            module.eval()
        with torch.no_grad():
            fwd(x)

    order = list(cands.items())
    shuffle = random.Random(0)
    for round_ in range(repeats + 1):  # round 0 warms up (allocations, oneDNN primitives)
        shuffle.shuffle(order)
        for name, (module, fwd) in order:
            for kind, fn in (("train", train_step), ("infer", infer)):
                t0 = time.perf_counter()
                fn(module, fwd)
                if round_:
                    times[name][kind].append(time.perf_counter() - t0)
    base = "torch.nn packed" if "torch.nn packed" in cands else "torch.nn padded"
    rows = {}
    for name, t in times.items():
        tr, inf = statistics.median(t["train"]), statistics.median(t["infer"])
        rows[name] = {
            "train_tokens_per_s": tokens / tr, "infer_tokens_per_s": tokens / inf,
            "train_gflops": flops(cell, s, True) / tr / 1e9, "infer_gflops": flops(cell, s, False) / inf / 1e9,
            "train_ratio_to_torch": statistics.median(b / a for a, b in zip(t["train"], times[base]["train"])),
            "infer_ratio_to_torch": statistics.median(b / a for a, b in zip(t["infer"], times[base]["infer"])),
        }
        print(f"  {cell} {shape} {name:<46} train {rows[name]['train_tokens_per_s']:>10,.0f} tok/s "
              f"({rows[name]['train_gflops']:6.1f} GFLOP/s) {rows[name]['train_ratio_to_torch']:5.2f}x   "
              f"infer {rows[name]['infer_tokens_per_s']:>11,.0f} tok/s {rows[name]['infer_ratio_to_torch']:5.2f}x", flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", default="lstm,gru")
    parser.add_argument("--shapes", default="A,B,C")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", help="write all figures to this file")
    parser.add_argument("--glibc-allocator", action="store_true",
                        help="leave glibc's allocator at its defaults (no seqlab.runtime.tune_allocator)")
    args = parser.parse_args()
    if not args.glibc_allocator:
        runtime.tune_allocator()
    threads = runtime.set_threads(args.threads)
    ceiling = ceiling_gflops()
    print(f"torch {torch.__version__}, {threads} threads, matrix-product ceilings (2048³): "
          + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in ceiling.items()))
    results = {}
    for cell in args.cells.split(","):
        for shape in args.shapes.split(","):
            results[f"{cell}-{shape}"] = measure(cell, shape, args.repeats)
    print("\nratios (training tokens/s; inference in brackets)")
    summary = {}
    for key, rows in results.items():
        base = "torch.nn packed" if "torch.nn packed" in rows else "torch.nn padded"
        print(f"  {key} (against {base}): " + ", ".join(f"{n} {r['train_ratio_to_torch']:.2f}x [{r['infer_ratio_to_torch']:.2f}x]" for n, r in rows.items()))
        keras = next((r for n, r in rows.items() if n.startswith("Keras")), None)
        if keras is not None:
            for n, r in rows.items():
                if n.startswith("seqlab native") and "+" not in n or n.startswith("seqlab equation"):
                    summary.setdefault(f"{key.split('-')[0]} {n} / Keras", []).append(
                        r["train_tokens_per_s"] / keras["train_tokens_per_s"])
    for k, v in summary.items():
        print(f"  {k}: geometric mean over shapes {math.exp(sum(map(math.log, v)) / len(v)):.2f}x ({len(v)} shapes)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"threads": threads, "allocator": "glibc" if args.glibc_allocator else "tuned", "ceilings_gflops": ceiling, "torch": torch.__version__, "results": results,
                       "keras_geomean": {k: math.exp(sum(map(math.log, v)) / len(v)) for k, v in summary.items()}}, fh, indent=1)


if __name__ == "__main__":
    sys.exit(main())
