"""Plots of any text: characters no installed font has are reported once, in one line with the fix, and never as
a stream of matplotlib warnings."""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("matplotlib", reason="the plots extra is not installed")
from seqlab.evaluation import plots  # noqa: E402


def test_missing_glyphs_are_reported_once_without_warnings(tmp_path, capsys):
    plots._WARNED.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any matplotlib glyph warning would fail here
        for name in ("a.png", "b.png"):
            plots.attention_heatmap(["中", "文", "x"], ["a", "b"], [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]], tmp_path / name)
    err = capsys.readouterr().err.strip().splitlines()
    if ord("中") in plots._coverage():  # a CJK font is installed: it is used, nothing to report
        assert err == []
    else:
        assert len(err) == 1 and "中" in err[0] and "fonts-noto-cjk" in err[0]
    assert (tmp_path / "a.png").read_bytes().startswith(b"\x89PNG")

