"""``benchmarks/reproduce.sh check NAME``: a recorded RESULTS figure re-run and compared (MR's BoW ships with seqlab,
so this one needs no dataset folder and takes seconds)."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_check(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ROOT / "benchmarks" / "reproduce.sh"), "check", *args], capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin", "BIN": str(Path(sys.executable).parent)}, timeout=600)


def test_the_bow_figure_reproduces_from_its_command():
    done = run_check("bow-mr")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test.accuracy 76.76, RESULTS (Text classification) records 76.76: reproduced" in done.stdout


def test_a_figure_that_differs_fails_and_says_by_how_much():
    done = run_check("bow-mr", "--tolerance", "-1")  # nothing is within a negative tolerance: the failing path
    assert done.returncode == 1
    assert re.search(r"records 76\.76: NOT reproduced \([+-]0\.00 points\)", done.stdout), done.stdout


def test_unknown_names_are_refused_with_the_known_ones():
    done = run_check("nope")
    assert done.returncode != 0 and "unknown entries: nope (known: bow-mr" in done.stderr
