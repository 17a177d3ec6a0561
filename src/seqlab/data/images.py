"""Images with captions (image → sequence): multi-digit images composed from scikit-learn's digits, and user
folders of images with a TSV of captions.

**digits-captions** (no download): scikit-learn ships 1,797 handwritten digits of 8 × 8 pixels
(``sklearn.datasets.load_digits``, UCI's optical digits). One seeded shuffle cuts those *source* images into
three pools — 70% train, 10% dev, 20% test — so no source image appears in two splits. Each composed image
draws ``digits`` = [k_min, k_max] digits from its split's pool, scales each to a side of 8–12 pixels
(bilinear), places them left to right with gaps of 0–3 pixels at random heights on a ``height × width``
canvas (default 20 × 72), and is captioned with the digits' words: "three one four". Everything follows from
``seed``; the horizontal extent of each digit is kept (``boxes``) to check where attention looks.

**User data**: a TSV with a header row ``image<TAB>caption``; image paths are relative to the TSV's folder.
Images are read with Pillow, converted to grey scale in [0, 1], scaled to ``height`` pixels keeping their
aspect ratio (at most ``width`` wide), and padded on the right to ``width``; ``width`` records the real
width, which the model turns into a mask over the padded regions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .readers import DataFormatError

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SIZES = (8, 9, 10, 11, 12)  # digit side in pixels after scaling (×1 … ×1.5)
POOLS = (("train", 0.7), ("dev", 0.1), ("test", 0.2))


@dataclass
class ImageCaption:
    image: np.ndarray  # [height, width] float32 in [0, 1]
    caption: str
    width: int  # real width in pixels; columns beyond it are padding
    boxes: list[tuple[int, int]] | None = None  # composed images: [x0, x1) of each word's digit
    source: str = ""  # file name, or "digits:<split>:<i>"


def _scaled_digits(images: np.ndarray) -> dict[int, np.ndarray]:
    """Every source digit at every side in SIZES: {side: [N, side, side]} (bilinear, values in [0, 1])."""
    x = torch.from_numpy(images.astype(np.float32) / 16.0).unsqueeze(1)  # [N, 1, 8, 8]
    return {s: F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False).squeeze(1).clamp(0, 1).numpy()
            for s in SIZES}


def source_pools(seed: int) -> dict[str, np.ndarray]:
    """Indices into ``load_digits()`` for each split: disjoint, from one seeded shuffle."""
    from sklearn.datasets import load_digits

    n = len(load_digits().target)
    order = np.random.default_rng(seed).permutation(n)
    pools, start = {}, 0
    for i, (name, share) in enumerate(POOLS):
        end = n if i == len(POOLS) - 1 else start + round(share * n)
        pools[name] = order[start:end]
        start = end
    return pools


def compose_digit_captions(split: str, count: int, seed: int = 1234, height: int = 20, width: int = 72,
                           digits: tuple[int, int] = (2, 5)) -> list[ImageCaption]:
    """``count`` composed images of ``split`` (see the module docstring); the same arguments give the same images."""
    from sklearn.datasets import load_digits

    k_min, k_max = digits
    if not 1 <= k_min <= k_max:
        raise ValueError(f"digits: need 1 ≤ min ≤ max, got {list(digits)}")
    if height < max(SIZES) or width < k_max * max(SIZES) + (k_max - 1) * 3:
        raise ValueError(f"a {height} × {width} canvas cannot hold {k_max} digits of up to {max(SIZES)} pixels "
                         f"(need at least {max(SIZES)} × {k_max * max(SIZES) + (k_max - 1) * 3})")
    bunch = load_digits()
    pool = source_pools(seed)[split]
    scaled = _scaled_digits(bunch.images)
    rng = np.random.default_rng([seed, ("train", "dev", "test").index(split)])
    out = []
    for i in range(count):
        k = int(rng.integers(k_min, k_max + 1))
        chosen = rng.choice(pool, size=k)
        sides = rng.choice(SIZES, size=k)
        gaps = rng.integers(0, 4, size=k)
        gaps[-1] = 0
        total = int(sides.sum() + gaps.sum())
        x = int(rng.integers(0, width - total + 1))
        canvas = np.zeros((height, width), dtype=np.float32)
        boxes = []
        for idx, side, gap in zip(chosen, sides, gaps):
            y = int(rng.integers(0, height - side + 1))
            canvas[y:y + side, x:x + side] = scaled[int(side)][idx]
            boxes.append((x, x + int(side)))
            x += int(side) + int(gap)
        caption = " ".join(WORDS[int(bunch.target[idx])] for idx in chosen)
        out.append(ImageCaption(canvas, caption, width, boxes, f"digits:{split}:{i}"))
    return out


def load_image(path: str | Path, height: int, width: int) -> tuple[np.ndarray, int]:
    """An image file as grey scale [height, width] in [0, 1], scaled to ``height`` and padded right; its real width."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise DataFormatError("reading images needs Pillow: pip install 'seqlab[vision]'") from None
    try:
        with Image.open(path) as img:
            grey = img.convert("L")
    except FileNotFoundError:
        raise DataFormatError(f"{path}: no such image file") from None
    except (UnidentifiedImageError, OSError) as err:
        raise DataFormatError(f"{path}: not an image Pillow can read ({err})") from None
    w = max(1, min(width, round(grey.width * height / max(grey.height, 1))))
    pixels = np.asarray(grey.resize((w, height), Image.BILINEAR), dtype=np.float32) / 255.0
    canvas = np.zeros((height, width), dtype=np.float32)
    canvas[:, :w] = pixels
    return canvas, w


def read_image_captions(tsv: str | Path, height: int, width: int) -> list[ImageCaption]:
    """A TSV of ``image<TAB>caption`` rows (header first), images relative to the TSV's folder."""
    tsv = Path(tsv)
    try:
        lines = tsv.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DataFormatError(f"{tsv}: no such file") from None
    except UnicodeDecodeError as err:
        raise DataFormatError(f"{tsv}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    if not lines or [c.strip().lstrip("\ufeff") for c in lines[0].split("\t")] != ["image", "caption"]:
        raise DataFormatError(f"{tsv}:1: expected the header 'image<TAB>caption'")
    out = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != 2 or not cells[0].strip() or not cells[1].strip():
            raise DataFormatError(f"{tsv}:{number}: expected 'image<TAB>caption', got {line[:60]!r}")
        image, w = load_image(tsv.parent / cells[0].strip(), height, width)
        out.append(ImageCaption(image, cells[1].strip(), w, None, cells[0].strip()))
    if not out:
        raise DataFormatError(f"{tsv}: no rows after the header")
    return out
