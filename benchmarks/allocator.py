"""The glibc allocator settings of seqlab.runtime.tune_allocator: training-step time against resident memory.

Each setting runs in its own process (the allocator is process-wide): one recurrent layer at shape C of
benchmarks/recurrent.py (B=32, T=200, I=256, H=512), 12 training steps, median of the last 10, and the
resident set size at the end.

    glibc       glibc's defaults
    threshold   M_MMAP_THRESHOLD = 32 MB (glibc's cap) and M_TRIM_THRESHOLD high: seqlab before 2026-11-24
    tuned       the above and M_MMAP_MAX = 0: seqlab.runtime.tune_allocator

    python benchmarks/allocator.py
"""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import ctypes, statistics, sys, time, torch
from seqlab import runtime
from seqlab.layers import GRU, LSTM
setting, cell = sys.argv[1], sys.argv[2]
if setting == "tuned":
    assert runtime.tune_allocator()
elif setting == "threshold":
    libc = ctypes.CDLL("libc.so.6")
    libc.mallopt(-3, 32 * 1024 * 1024)
    libc.mallopt(-1, 2**31 - 1)
layer = (LSTM if cell == "lstm" else GRU)(256, 512, batch_first=True)
x = torch.randn(32, 200, 256)
times = []
for _ in range(12):
    t0 = time.perf_counter()
    layer(x)[0].sum().backward()
    times.append(time.perf_counter() - t0)
rss = int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
print(f"{statistics.median(times[2:]) * 1e3:.1f} {rss:.0f}")
"""


def main() -> None:
    print("| cell | allocator | training step (ms) | resident memory (MB) |\n| --- | --- | --- | --- |")
    for cell in ("lstm", "gru"):
        for setting in ("glibc", "threshold", "tuned"):
            out = subprocess.run([sys.executable, "-c", PROBE, setting, cell], capture_output=True, text=True,
                                 check=True).stdout.split()
            print(f"| {cell} | {setting} | {out[0]} | {out[1]} |", flush=True)


if __name__ == "__main__":
    main()
