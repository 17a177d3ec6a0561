"""PNG plots (matplotlib, the ``plots`` extra; headless Agg backend)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# fonts with the scripts DejaVu lacks, tried in this order when installed (Debian: fonts-noto-cjk,
# fonts-noto-color-emoji, fonts-wqy-zenhei, fonts-wqy-microhei)
FALLBACK_FONTS = ("Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans CJK KR", "Source Han Sans", "WenQuanYi Zen Hei",
                  "WenQuanYi Micro Hei", "Droid Sans Fallback", "Noto Color Emoji", "Noto Emoji", "Symbola")
_WARNED: set[str] = set()
_SCANNED: list[bool] = []  # the system's font files were looked through for fallbacks added since matplotlib's cache
_COVERED: set[int] = set()


_FALLBACK_FILES = ("notosanscjk", "notoserifcjk", "sourcehansans", "wqy", "droidsansfallback", "notocoloremoji",
                   "notoemoji", "symbola")


def _add_fonts_installed_since_the_cache(font_manager) -> set[str]:
    """matplotlib lists the system's fonts once and caches the list: a CJK font installed after that is not in it.
    Add the fallback fonts' files found on the system now (by file name, no font opened but those) and return
    their family names."""
    added = set()
    for path in font_manager.findSystemFonts():
        if any(key in Path(path).name.lower().replace("-", "") for key in _FALLBACK_FILES):
            try:
                font_manager.fontManager.addfont(path)
                added.add(font_manager.FontProperties(fname=path).get_name())
            except (OSError, RuntimeError, ValueError):
                continue  # a file FreeType cannot read
    return added


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise RuntimeError("plots need matplotlib: pip install 'seqlab[plots]'") from None
    matplotlib.use("Agg")
    import warnings

    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    if not any(name in installed for name in FALLBACK_FONTS) and not _SCANNED:
        _SCANNED.append(True)  # once a process: a machine without such fonts is not scanned for every plot
        installed |= _add_fonts_installed_since_the_cache(font_manager)
    fallbacks = [name for name in FALLBACK_FONTS if name in installed]
    if fallbacks:  # matplotlib ≥ 3.6 falls back glyph by glyph along this list
        plt.rcParams["font.family"] = ["DejaVu Sans", *fallbacks]
    # one line per picture from _save instead of one matplotlib warning per missing character
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from")
    return plt


def _coverage() -> set[int]:
    """Code points the plot fonts (DejaVu Sans and the installed fallbacks) can draw."""
    if not _COVERED:
        from matplotlib import font_manager
        from matplotlib.ft2font import FT2Font

        plt = _pyplot()
        families = plt.rcParams["font.family"]
        for family in [families] if isinstance(families, str) else families:
            path = font_manager.findfont(font_manager.FontProperties(family=[family]))
            _COVERED.update(FT2Font(path).get_charmap())
    return _COVERED


def _save(fig, path: str | Path, **kwargs: Any) -> Path:
    """Save ``fig`` with no label cut at its edge; characters no installed font can draw are reported once, with
    the fix (they would show as boxes)."""
    from matplotlib.text import Text

    plt = _pyplot()
    fig.savefig(path, **{"bbox_inches": "tight", "pad_inches": 0.1, **kwargs})
    texts = "".join(t.get_text() for t in fig.findobj(Text))
    plt.close(fig)
    covered = _coverage()
    missing = sorted({c for c in texts if not c.isspace() and ord(c) not in covered})
    new = [c for c in missing if c not in _WARNED]
    if new:
        _WARNED.update(new)
        sys.stderr.write(f"seqlab: {len(missing)} characters in {Path(path).name} have no installed font and show as "
                         f"boxes (e.g. {' '.join(missing[:3])}); install a font that has them, e.g. "
                         "apt-get install fonts-noto-cjk fonts-noto-color-emoji\n")
    return Path(path)


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
    _save(fig, path)
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
    if all(float(x).is_integer() for points in series.values() for x, _ in points):  # epochs: no ticks at 0.96…1.04
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    return Path(path)


def attributions(result: dict[str, Any], path: str | Path) -> Path:
    """The tokens of one text, one row per attribution method, each token on a box coloured by its score
    (green for the target class, red against; scaled per row)."""
    plt = _pyplot()
    methods = list(result["attributions"])
    tokens = result["tokens"]
    width = max(6.0, 0.12 * sum(len(t) + 3 for t in tokens) + 2.0)
    fig, ax = plt.subplots(figsize=(min(width, 18), 0.45 * len(methods) + 0.7), dpi=130)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, len(methods))
    ax.axis("off")
    renderer = fig.canvas.get_renderer()
    for row, method in enumerate(methods):
        scores = result["attributions"][method]
        scale = max((abs(s) for s in scores), default=0.0) or 1.0
        y = len(methods) - row - 0.5
        ax.text(0.0, y, method.replace("_", " "), ha="left", va="center", fontsize=9, color="#444")
        x = 0.2
        mono = ["DejaVu Sans Mono", *plt.rcParams["font.family"][1:]]  # with the fallbacks for CJK and emoji
        for token, score in zip(tokens, scores):
            a = min(abs(score) / scale, 1.0)
            colour = (1 - 0.6 * a, 1.0, 1 - 0.6 * a) if score >= 0 else (1.0, 1 - 0.6 * a, 1 - 0.6 * a)
            t = ax.text(x, y, token, ha="left", va="center", fontsize=10, family=mono,
                        bbox={"boxstyle": "round,pad=0.25", "facecolor": colour, "edgecolor": "#bbb"})
            box = t.get_window_extent(renderer=renderer).transformed(ax.transData.inverted())
            x = box.x1 + 0.015
    probs = ", ".join(f"{k} {v:.2f}" for k, v in result["probabilities"].items())
    ax.set_title(f"predicted {result['predicted']} ({probs}) — attributions of p({result['target']}): "
                 "green for, red against", fontsize=9)
    _save(fig, path)
    return Path(path)


def confusion_matrix(gold: list[int], predicted: list[int], labels: list[str], path: str | Path) -> Path:
    """Counts of (gold, predicted) with row-normalised shading, as scikit-learn computes them."""
    from sklearn.metrics import confusion_matrix as sk_confusion

    plt = _pyplot()
    counts = sk_confusion(gold, predicted, labels=list(range(len(labels))))
    rates = counts / counts.sum(axis=1, keepdims=True).clip(min=1)
    size = max(3.5, 0.55 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size), dpi=120)
    im = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if rates[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(f"confusion matrix (accuracy {counts.trace() / max(counts.sum(), 1):.2%})", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046, label="share of the gold row")
    fig.tight_layout()
    _save(fig, path)
    return Path(path)


def dev_series(epochs: list[dict[str, Any]], dev_loss: str | None = None) -> dict[str, list]:
    """The dev metrics of metrics.jsonl's epoch records, one series per line of the plot: counts and decoding
    settings (``beam``) left out, and metrics equal at every epoch drawn once under both names.

    >>> dev_series([{"dev_f1": 0.5, "dev_f1_conlleval": 0.5, "dev_accuracy": 0.9, "dev_beam": 1, "dev_n": 9}])
    {'accuracy': [0.9], 'f1 = f1_conlleval': [0.5]}
    """
    not_metrics = ("dev_n", "dev_tokens", "dev_beam", dev_loss)
    same: dict[tuple, list[str]] = {}
    for key in sorted({k for r in epochs for k in r if k.startswith("dev_") and k not in not_metrics}):
        same.setdefault(tuple(r.get(key) for r in epochs), []).append(key.removeprefix("dev_"))
    return {" = ".join(names): list(values) for values, names in same.items()}


def training_curves(records: list[dict[str, Any]], path: str | Path) -> Path:
    """Training loss (per logged step and per epoch) and every dev metric per epoch, from metrics.jsonl."""
    plt = _pyplot()
    steps = [(r["step"], r["loss"]) for r in records if "loss" in r and "train_loss" not in r]
    epochs = [r for r in records if "train_loss" in r]
    dev_loss = next((k for k in ("dev_loss", "dev_nll") if any(k in r for r in epochs)), None)  # the same loss on dev
    series = dev_series(epochs, dev_loss)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=120)
    if steps:
        axes[0].plot(*zip(*steps), linewidth=1, alpha=0.6, label="batch loss")
    if epochs:
        axes[0].plot([r["step"] for r in epochs], [r["train_loss"] for r in epochs], "o-", label="epoch mean")
    if dev_loss:
        axes[0].plot([r["step"] for r in epochs if dev_loss in r], [r[dev_loss] for r in epochs if dev_loss in r], "s--",
                     label="dev loss")
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("loss")
    axes[0].grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    for label, values in series.items():
        axes[1].plot([r["epoch"] for r in epochs], values, "o-", label=label)
    from matplotlib.ticker import MaxNLocator

    axes[1].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("dev metric")
    axes[1].grid(True, alpha=0.3)
    axes[1].legend(fontsize=8)
    fig.suptitle("training curves", fontsize=10)
    fig.tight_layout()
    _save(fig, path)
    return Path(path)


def embedding_projection(words: list[str], vectors, path: str | Path, method: str = "pca", seed: int = 0) -> Path:
    """Word vectors projected to 2-D by PCA or t-SNE (scikit-learn), each point labelled with its word."""
    import numpy as np
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    plt = _pyplot()
    matrix = np.asarray(vectors, dtype=np.float64)
    if method == "pca":
        points = PCA(n_components=2, random_state=seed).fit_transform(matrix)
    elif method == "tsne":
        perplexity = max(2.0, min(30.0, (len(words) - 1) / 3))
        points = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(matrix)
    else:
        raise ValueError(f"unknown projection {method!r} (known: pca, tsne)")
    fig, ax = plt.subplots(figsize=(8, 7), dpi=120)
    ax.scatter(points[:, 0], points[:, 1], s=8, alpha=0.6)
    hidden = _label_points(fig, ax, words, points)
    note = f"; {hidden} labels left out where they would overlap" if hidden else ""
    ax.set_title(f"{len(words)} word vectors, {'PCA' if method == 'pca' else 't-SNE'}{note}", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    _save(fig, path)
    return Path(path)


def _label_points(fig, ax, words: list[str], points, fontsize: float = 7) -> int:
    """Label each point with its word where the label overlaps no label placed before it (four positions
    tried around the point, in word order: the most frequent words first); returns how many were left out."""
    fig.canvas.draw()  # the axes' final size, to measure labels in pixels
    placed: list = []
    hidden = 0
    renderer = fig.canvas.get_renderer()
    for word, (x, y) in zip(words, points):
        for dx, dy, ha, va in ((3, 3, "left", "bottom"), (-3, 3, "right", "bottom"), (3, -3, "left", "top"),
                               (-3, -3, "right", "top")):
            text = ax.annotate(word, (x, y), fontsize=fontsize, alpha=0.85, xytext=(dx, dy), textcoords="offset points",
                               ha=ha, va=va)
            box = text.get_window_extent(renderer).expanded(1.05, 1.1)
            if not any(box.overlaps(other) for other in placed):
                placed.append(box)
                break
            text.remove()
        else:
            hidden += 1
    return hidden


def attention_heatmap(source: list[str], target: list[str], weights, path: str | Path) -> Path:
    """Each target token's attention over the source tokens (rows: target, columns: source), as in Bahdanau
    et al.'s alignment figures; white 0, black 1."""
    import numpy as np

    plt = _pyplot()
    weights = np.asarray(weights, dtype=float)[: len(target), : len(source)]
    fig, ax = plt.subplots(figsize=(max(3.5, 0.45 * len(source) + 1.5), max(3.0, 0.4 * len(target) + 1.2)), dpi=130)
    ax.imshow(weights, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(source)), source, rotation=60, ha="right", fontsize=9)
    ax.set_yticks(range(len(target)), target, fontsize=9)
    ax.xaxis.tick_top()
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    fig.tight_layout()
    _save(fig, path)
    return Path(path)


def caption_attention(image, words: list[str], alphas, path: str | Path, stride: int) -> Path:
    """The image, then one panel per output word with that word's attention over the regions drawn on the
    image (each grid cell of ``stride`` pixels, bilinearly smoothed; brighter = more attention), as in
    Xu et al. (2015)'s figures."""
    import numpy as np

    plt = _pyplot()
    image = np.asarray(image, dtype=float)
    alphas = np.asarray(alphas, dtype=float)[: len(words)]
    height, width = image.shape
    panels = len(words) + 1
    cols = min(panels, 3)
    rows = -(-panels // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 1.3 * rows + 0.3), dpi=130, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    axes.flat[0].imshow(image, cmap="gray", vmin=0, vmax=1)
    axes.flat[0].set_title("image", fontsize=9)
    grid_h, grid_w = alphas.shape[1:]
    extent = (0, grid_w * stride, grid_h * stride, 0)
    for ax, word, alpha in zip(axes.flat[1:], words, alphas):
        ax.imshow(image, cmap="gray", vmin=0, vmax=1)
        ax.imshow(alpha / max(alpha.max(), 1e-12), cmap="inferno", alpha=0.55, extent=extent, interpolation="bilinear",
                  vmin=0, vmax=1)
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)
        ax.set_title(word, fontsize=9)
    fig.tight_layout()
    _save(fig, path)
    return Path(path)
