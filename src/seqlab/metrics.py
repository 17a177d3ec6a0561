"""Pure metric functions over plain Python lists; later tasks add tagging (seqeval) and BLEU (sacrebleu).

This module imports nothing from seqlab.

>>> accuracy([1, 0, 1, 1], [1, 1, 1, 0])
0.5
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def accuracy(gold: Sequence, predicted: Sequence) -> float:
    """Fraction of positions where ``predicted`` equals ``gold``."""
    if len(gold) != len(predicted):
        raise ValueError(f"accuracy: {len(gold)} gold labels but {len(predicted)} predictions")
    if not gold:
        return float("nan")
    return sum(g == p for g, p in zip(gold, predicted)) / len(gold)


def classification_report(gold: Sequence[int], predicted: Sequence[int], labels: Sequence[str]) -> dict:
    """Accuracy, macro F1 and per-class precision/recall/F1/support (scikit-learn's definitions)."""
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    ids = list(range(len(labels)))
    p, r, f, s = precision_recall_fscore_support(gold, predicted, labels=ids, zero_division=0)
    return {
        "accuracy": accuracy(gold, predicted),
        "macro_f1": float(f1_score(gold, predicted, labels=ids, average="macro", zero_division=0)),
        "per_class": {
            name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, name in enumerate(labels)
        },
    }


def chunk_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict:
    """Chunk / entity precision, recall and F1 (micro over all chunks, and per type) with seqeval in strict
    IOB2 mode: a chunk counts only if its type and both boundaries are right, and an ``I-X`` that does not
    continue a chunk is not silently read as a start (seqeval's default lenient mode does that).

    >>> round(chunk_scores([["B-NP", "I-NP", "O"]], [["B-NP", "I-NP", "O"]])["f1"], 3)
    1.0
    """
    from seqeval.metrics import classification_report as report
    from seqeval.scheme import IOB2

    table = report([list(g) for g in gold], [list(p) for p in predicted], mode="strict", scheme=IOB2,
                   output_dict=True, zero_division=0)
    micro = table["micro avg"]
    return {
        "precision": float(micro["precision"]), "recall": float(micro["recall"]), "f1": float(micro["f1-score"]),
        "per_type": {k: {"precision": float(v["precision"]), "recall": float(v["recall"]),
                         "f1": float(v["f1-score"]), "support": int(v["support"])}
                     for k, v in table.items() if not k.endswith(" avg")},
    }


def perplexity(total_nll: float, n_tokens: int) -> float:
    """exp(mean negative log-likelihood in nats) over ``n_tokens`` predicted tokens.

    >>> round(perplexity(2 * math.log(4), 2), 6)
    4.0
    """
    return math.exp(total_nll / n_tokens)
