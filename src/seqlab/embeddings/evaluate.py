"""Looking at word vectors: nearest neighbours, analogies a − b + c (Mikolov et al. 2013), and the two
standard evaluations that gensim ships — the Google analogy set (questions-words.txt: accuracy over the
questions whose words are all in the vocabulary, as gensim scores it) and SimLex-999 (Hill et al. 2015:
Spearman correlation of cosine similarity with human ratings over the pairs in the vocabulary)."""

from __future__ import annotations

from typing import Any


def _datapath(name: str) -> str:
    from gensim.test.utils import datapath

    return datapath(name)


def neighbours(vectors, word: str, k: int = 10) -> list[tuple[str, float]]:
    if word not in vectors.key_to_index:
        raise ValueError(f"{word!r} is not in the vectors' vocabulary ({len(vectors.key_to_index):,} words)")
    return [(w, float(s)) for w, s in vectors.most_similar(word, topn=k)]


def analogy(vectors, a: str, b: str, c: str, k: int = 5) -> list[tuple[str, float]]:
    """Words closest to a − b + c (king − man + woman ≈ queen), the three inputs excluded."""
    missing = [w for w in (a, b, c) if w not in vectors.key_to_index]
    if missing:
        raise ValueError(f"not in the vectors' vocabulary: {', '.join(missing)}")
    return [(w, float(s)) for w, s in vectors.most_similar(positive=[a, c], negative=[b], topn=k)]


def analogy_accuracy(vectors, path: str | None = None) -> dict[str, Any]:
    path = path or _datapath("questions-words.txt")
    score, sections = vectors.evaluate_word_analogies(path)
    total = next(s for s in sections if s["section"] == "Total accuracy")
    answered = len(total["correct"]) + len(total["incorrect"])
    with open(path, encoding="utf-8") as fh:
        questions = sum(1 for line in fh if line.strip() and not line.startswith(":"))
    return {"accuracy": float(score), "answered": answered, "questions": questions,
            "sections": {s["section"]: len(s["correct"]) / max(1, len(s["correct"]) + len(s["incorrect"]))
                         for s in sections if s["section"] != "Total accuracy"}}


def simlex(vectors, path: str | None = None) -> dict[str, Any]:
    """Correlations over the in-vocabulary pairs; None (with 100% out of vocabulary) when no pair is covered."""
    try:
        pearson, spearman, oov = vectors.evaluate_word_pairs(path or _datapath("simlex999.txt"))
    except ValueError:  # gensim raises when every pair is out of vocabulary
        return {"spearman": None, "pearson": None, "oov_percent": 100.0}
    return {"spearman": float(spearman[0]), "pearson": float(pearson[0]), "oov_percent": float(oov)}
