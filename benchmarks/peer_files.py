"""What the peers' scripts share (they run in the peers' venv, beside this file): reading the files ``peers.py``
writes."""

from __future__ import annotations

from pathlib import Path


def read_tsv(path: Path) -> list[tuple[str, str]]:
    """``label<TAB>text`` rows after a header line, as (label, text)."""
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [tuple(line.split("\t", 1)) for line in lines if line]
