"""benchmarks/serve_abuse.py at the test suite's scale: a real ``seqlab serve`` process on loopback, every finding
of the red-team pass replayed against it (costly requests, dropped streams, explain floods, stalled bodies,
half-sent headers, bad values, SIGTERM), each asserted; the full scale's figures are in RESULTS.md."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi) is not installed: pip install 'seqlab[serve]'")

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_a_hostile_client_gets_bounded_answers(models, tmp_path):
    sys.path.insert(0, str(BENCHMARKS))  # importable by name: its /health probe runs in a spawned process
    try:
        abuse = importlib.import_module("serve_abuse")
        # the time bounds are 5× the benchmark's (/health 2 s, not 100 ms): pytest and the server share 2 busy cores;
        # what the test holds is the behaviour (statuses, refusals before work, no 500, no traceback, memory)
        code = abuse.main(["--small", "--classifier", str(models["classifier"]), "--tagger", str(models["tagger"]),
                           "--lm", str(models["lm"]), "--seq2seq", str(models["seq2seq"]), "--health-ms", "2000",
                           "--time-slack", "5",
                           "--log", str(tmp_path / "serve.log"), "--json", str(tmp_path / "abuse.json")])
    finally:
        sys.path.remove(str(BENCHMARKS))
    assert code == 0, (tmp_path / "abuse.json").read_text()
