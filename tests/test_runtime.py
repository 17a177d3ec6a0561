"""seqlab.runtime: the allocator setting the CLI and benchmarks apply at start-up."""

import platform
import subprocess
import sys

import pytest

PROBE = """
import resource, sys, torch
from seqlab import runtime
if sys.argv[1] == "tuned":
    assert runtime.tune_allocator()
for _ in range(15):  # a training loop's steady state: 64 MB buffers, above glibc's 32 MB mmap-threshold cap
    x = torch.ones(16_000_000)
    del x
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    x = torch.ones(16_000_000)
    del x
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="tune_allocator sets glibc's mallopt options; other C libraries keep their own allocator defaults")
def test_tuned_allocator_reuses_large_buffers():
    """In a steady state, freed 64 MB buffers are reused from the heap instead of mapped afresh. Under glibc's
    defaults each of five allocations is mapped, touched (page-faulted in: ~78,000 faults here) and unmapped
    again; tuned, the heap has grown to hold them and they fault no more."""
    def faults(mode):
        out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
        return int(out.stdout.split()[-1])

    default, tuned = faults("glibc"), faults("tuned")
    assert default > 40_000 and tuned < 2_000, (default, tuned)
