"""Pure metric functions over plain Python lists: accuracy, classification reports (scikit-learn), chunk F1
(seqeval), perplexity, G2P error rates (rapidfuzz) and corpus BLEU / chrF (sacrebleu).

This module imports nothing from seqlab.

>>> accuracy([1, 0, 1, 1], [1, 1, 1, 0])
0.5
"""

from __future__ import annotations

import math
import warnings
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
    continue a chunk is not silently read as a start (seqeval's default lenient mode does that). Beside them,
    ``*_conlleval``: the same scores in conlleval's convention (an ill-formed ``I-X`` starts a chunk), which the
    published CoNLL figures use.

    >>> s = chunk_scores([["B-NP", "I-NP", "O"]], [["I-NP", "I-NP", "O"]])  # starts with I-: ill-formed
    >>> round(s["f1"], 3), round(s["f1_conlleval"], 3)
    (0.0, 1.0)

    >>> round(chunk_scores([["B-NP", "I-NP", "O"]], [["B-NP", "I-NP", "O"]])["f1"], 3)
    1.0
    """
    from seqeval.metrics import classification_report as report
    from seqeval.metrics import f1_score, precision_score, recall_score
    from seqeval.scheme import IOB2

    gold_lists, pred_lists = [list(g) for g in gold], [list(p) for p in predicted]
    with warnings.catch_warnings():  # seqeval averages over no chunks at all (an all-O corpus) with numpy's warning
        warnings.simplefilter("ignore", RuntimeWarning)
        table = report(gold_lists, pred_lists, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
        conll = (precision_score(gold_lists, pred_lists, zero_division=0), recall_score(gold_lists, pred_lists, zero_division=0),
                 f1_score(gold_lists, pred_lists, zero_division=0))
    micro = table["micro avg"]
    return {
        "precision": float(micro["precision"]), "recall": float(micro["recall"]), "f1": float(micro["f1-score"]),
        # conlleval's convention, which the published CoNLL-2000 / CoNLL-2003 figures use: an I-X that does not
        # continue a chunk starts one (seqeval's default mode, equal to conlleval.pl)
        "precision_conlleval": float(conll[0]), "recall_conlleval": float(conll[1]), "f1_conlleval": float(conll[2]),
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


def g2p_error_rates(references: dict[str, list[list[str]]], predictions: dict[str, list[str]]) -> dict:
    """Grapheme-to-phoneme word and phoneme error rates over the words of ``references`` (word → its
    accepted pronunciations). A word is wrong (WER) unless its prediction equals one of them; PER is the total
    edit distance to the closest accepted pronunciation over the total length of those pronunciations
    (edit distances by rapidfuzz's Levenshtein over phoneme sequences).

    >>> r = g2p_error_rates({"a": [["AH0"], ["EY1"]], "ab": [["AE1", "B"]]}, {"a": ["EY1"], "ab": ["AE1", "P"]})
    >>> r["wer"], r["per"]
    (0.5, 0.3333333333333333)
    """
    from rapidfuzz.distance import Levenshtein

    wrong = edits = length = 0
    for word, refs in references.items():
        hyp = predictions.get(word, [])
        best = min(refs, key=lambda ref: (Levenshtein.distance(hyp, ref), len(ref)))
        distance = Levenshtein.distance(hyp, best)
        wrong += distance > 0
        edits += distance
        length += len(best)
    n = len(references)
    return {"wer": wrong / n if n else float("nan"), "per": edits / length if length else float("nan"), "words": n}


def token_error_rate(references: Sequence[Sequence[str]], hypotheses: Sequence[Sequence[str]]) -> float:
    """Total token-level edit distance (rapidfuzz's Levenshtein) over the total reference length.

    >>> token_error_rate([["one", "two"], ["three"]], [["one"], ["three", "four"]])
    0.6666666666666666
    """
    from rapidfuzz.distance import Levenshtein

    if len(references) != len(hypotheses):
        raise ValueError(f"token_error_rate: {len(references)} references but {len(hypotheses)} hypotheses")
    length = sum(len(r) for r in references)
    edits = sum(Levenshtein.distance(list(h), list(r)) for r, h in zip(references, hypotheses))
    return edits / length if length else float("nan")


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str]) -> dict:
    """Corpus BLEU and chrF from sacrebleu on detokenised text, with sacrebleu's signatures."""
    import sacrebleu

    bleu = sacrebleu.metrics.BLEU()
    chrf = sacrebleu.metrics.CHRF()
    b = bleu.corpus_score(list(hypotheses), [list(references)])
    c = chrf.corpus_score(list(hypotheses), [list(references)])
    return {"bleu": b.score, "chrf": c.score, "bleu_signature": str(bleu.get_signature()),
            "chrf_signature": str(chrf.get_signature())}
