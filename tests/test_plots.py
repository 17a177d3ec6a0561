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



def test_projection_labels_never_overlap_and_the_rest_are_counted():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from seqlab.evaluation.plots import _label_points

    rng = np.random.default_rng(0)
    words = [f"word{i:03d}" for i in range(150)]
    points = rng.normal(size=(150, 2))
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(points[:, 0], points[:, 1])
    hidden = _label_points(fig, ax, words, points)
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    assert 0 < hidden < 150 and len(boxes) == 150 - hidden
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    plt.close(fig)
