"""``seqlab serve`` accepts at most a small batch of connections per event-loop turn (asyncio reads uvicorn's
``backlog`` as that count) while the kernel still queues ``LISTEN_BACKLOG`` of them: the listening socket is
listened again after start. Read from the kernel with ``ss`` (Send-Q of a listening socket is its backlog)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi) is not installed: pip install 'seqlab[serve]'")

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs iproute2's ss to read the kernel's listen queue")
def test_the_kernel_queue_stays_long_while_accepts_come_in_small_batches(models, tmp_path):
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from serve_abuse import Server
    finally:
        sys.path.remove(str(BENCHMARKS))
    from seqlab.serving.server import LISTEN_BACKLOG

    server = Server({"clf": str(models["classifier"])}, tmp_path / "serve.log", [])
    try:
        shown = subprocess.run(["ss", "-ltnH", f"sport = :{server.port}"], capture_output=True, text=True).stdout.split()
    finally:
        server.stop()
    assert shown and int(shown[2]) == LISTEN_BACKLOG, shown  # State Recv-Q Send-Q …: Send-Q is the backlog
