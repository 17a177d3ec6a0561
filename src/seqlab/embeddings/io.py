"""Word vectors on disk: ``word2vec`` text (a ``count dim`` header, then ``word v1 … vd`` per line),
``word2vec-binary`` (the same header, then each word and its float32 values) and ``glove`` (text, no header).
Read and written by gensim's KeyedVectors, so files interoperate with the original tools; text values are
written with ``repr``, so a float32 round trip is exact.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._gensim import gensim_models

FORMATS = ("word2vec", "word2vec-binary", "glove")


def guess_format(path: str | Path) -> str:
    """``.bin`` → word2vec-binary; a text file whose first line is ``count dim`` → word2vec; else glove."""
    path = Path(path)
    if path.suffix == ".bin":
        return "word2vec-binary"
    with open(path, encoding="utf-8", errors="replace") as fh:
        first = fh.readline().split()
    return "word2vec" if len(first) == 2 and all(p.isdigit() for p in first) else "glove"


def _check(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown vector format {fmt!r} (known: {', '.join(FORMATS)})")
    return fmt


def load_vectors(path: str | Path, fmt: str | None = None):
    """A gensim ``KeyedVectors`` from ``path`` in ``fmt`` (guessed when None)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such vectors file")
    fmt = _check(fmt or guess_format(path))
    kv = gensim_models().KeyedVectors
    try:
        return kv.load_word2vec_format(str(path), binary=fmt == "word2vec-binary", no_header=fmt == "glove")
    except (ValueError, UnicodeDecodeError, EOFError) as err:
        raise ValueError(f"{path}: not a {fmt} vectors file ({err})") from None


def save_vectors(vectors, path: str | Path, fmt: str = "word2vec") -> Path:
    """Write ``vectors`` (gensim KeyedVectors) to ``path`` in ``fmt``; return the path."""
    fmt = _check(fmt)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    vectors.save_word2vec_format(str(path), binary=fmt == "word2vec-binary", write_header=fmt != "glove")
    return path


def from_matrix(words: list[str], matrix) -> object:
    """KeyedVectors holding row i of ``matrix`` (array or tensor [N, D]) for ``words[i]``."""
    matrix = np.asarray(matrix.detach().cpu() if hasattr(matrix, "detach") else matrix, dtype=np.float32)
    kv = gensim_models().KeyedVectors(matrix.shape[1])
    kv.add_vectors(list(words), matrix)
    for i, word in enumerate(words):  # a descending "count" keeps the given order when written
        kv.set_vecattr(word, "count", len(words) - i)
    return kv
