"""PNG plots (matplotlib, the ``plots`` extra; headless Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise RuntimeError("plots need matplotlib: pip install 'seqlab[plots]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def gradient_flow(report: dict[str, Any], path: str | Path) -> Path:
    """‖∂L/∂h_t‖ against t for each cell (log scale), and ∏f for the LSTM."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for name, r in report["cells"].items():
        ax.semilogy(range(1, r["T"] + 1), r["grad_norm"], label=f"{name}: ‖∂L/∂h_t‖", linewidth=2)
        if "forget_product" in r:
            ax.semilogy(range(1, r["T"] + 1), r["forget_product"], "--", label=f"{name}: ∏ f (k > t)")
    ax.set_xlabel("time step t  (loss on the last step T)")
    ax.set_ylabel("gradient norm (log scale)")
    what = "trained models" if report["hidden"] == "trained" else f"fresh cells, H = {report['hidden']}"
    ax.set_title(f"Gradient flow back through time, T = {report['length']} ({what})", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def curves(series: dict[str, list[tuple[float, float]]], path: str | Path, xlabel: str, ylabel: str, title: str,
           hline: tuple[float, str] | None = None, logy: bool = False) -> Path:
    """One line per named series of (x, y) points."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for name, points in series.items():
        xs, ys = zip(*points) if points else ((), ())
        ax.plot(xs, ys, marker="o", markersize=3, label=name, linewidth=2)
    if hline is not None:
        ax.axhline(hline[0], color="grey", linestyle="--", label=hline[1])
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
