"""Pretrained word vectors — GloVe text (``word v1 … vd`` per line), word2vec text (the same, after a
``count dim`` header line) or word2vec binary (``.bin``, read with gensim) — aligned to a vocabulary.

``align(path, itos)`` returns the matrix rows for the words found and the coverage; words not found keep the
model's own initialisation (U(−a, a), see ``seqlab.layers.embedding``), and so do the special tokens.
A lookup tries the word as written, then matches case-insensitively (the first such vector in the file, i.e.
the most frequent casing in a word2vec file), so a lower-cased vocabulary finds "Paris" in cased vectors.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .readers import DataFormatError, read_lines


def read_text_vectors(path: str | Path) -> dict[str, list[float]]:
    vectors: dict[str, list[float]] = {}
    dim = None
    for number, line in enumerate(read_lines(path), start=1):
        parts = line.rstrip().split(" ")
        if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
            continue  # word2vec text header: count dim
        if len(parts) < 2:
            continue
        try:
            values = [float(v) for v in parts[1:]]
        except ValueError:
            raise DataFormatError(f"{path}:{number}: expected a word and numbers") from None
        dim = dim or len(values)
        if len(values) != dim:
            raise DataFormatError(f"{path}:{number}: {len(values)} numbers, expected {dim} as on the first vector line")
        vectors.setdefault(parts[0], values)
    if dim is None:
        raise DataFormatError(f"{path}: no vectors in the file")
    return vectors


def read_binary_vectors(path: str | Path) -> dict[str, list[float]]:
    try:
        from gensim.models import KeyedVectors
    except ImportError:
        raise RuntimeError(f"{path}: binary word2vec files need gensim: pip install 'seqlab[embeddings]'") from None
    kv = KeyedVectors.load_word2vec_format(str(path), binary=True)
    return {word: kv.vectors[i].tolist() for i, word in enumerate(kv.index_to_key)}


def align(path: str | Path, itos: list[str], skip: int = 4) -> tuple[dict[int, torch.Tensor], dict]:
    """({row: vector} for the vocabulary words found, coverage report); the first ``skip`` rows are specials."""
    table = read_binary_vectors(path) if Path(path).suffix == ".bin" else read_text_vectors(path)
    folded: dict[str, list[float]] = {}
    for key, vec in table.items():
        folded.setdefault(key.lower(), vec)
    found = {}
    for i, word in enumerate(itos[skip:], start=skip):
        vec = table.get(word)
        if vec is None:
            vec = folded.get(word.lower())
        if vec is not None:
            found[i] = torch.tensor(vec)
    words = len(itos) - skip
    return found, {"vectors": str(path), "found": len(found), "words": words,
                   "coverage": len(found) / words if words else 0.0}


def load_into(embedding: torch.nn.Embedding, path: str | Path, itos: list[str]) -> dict:
    """Copy the aligned vectors into ``embedding`` (dimensions must agree); return the coverage report."""
    found, report = align(path, itos)
    if found:
        dim = next(iter(found.values())).numel()
        if dim != embedding.embedding_dim:
            raise DataFormatError(f"{path}: vectors have {dim} dimensions, the model's embedding {embedding.embedding_dim}")
        with torch.no_grad():
            rows = torch.tensor(list(found))
            embedding.weight[rows] = torch.stack(list(found.values())).to(embedding.weight.dtype)
    return report
