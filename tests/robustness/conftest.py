"""Shared helpers: run the CLI in-process and assert a clean one-line error."""

from __future__ import annotations

import pytest

from seqlab.cli.main import main


def one_line_error(capsys, argv, *needles: str) -> str:
    """Run ``seqlab argv``; it must exit 2 with one line on stderr (no traceback) containing every needle."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith(("OpenMP waiting", " "))]
    assert code == 2, (code, err[-2000:])
    assert "Traceback" not in err, err[-2000:]
    errors = [line for line in lines if ": error: " in line]
    assert len(errors) == 1, err[-2000:]
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


@pytest.fixture
def expect_error(capsys):
    return lambda argv, *needles: one_line_error(capsys, argv, *needles)
