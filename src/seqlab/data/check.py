"""What a data split holds, before anything trains on it: ``seqlab data check``.

For labelled texts: examples, label distribution, empty texts, duplicate texts (and duplicates whose labels
disagree), text lengths in tokens (the recipe's tokenizer; whitespace tokens for a bare file), and for a
recipe how many dev and test texts also occur in train. For tagged sentences: sentences, tokens, tag distribution and
the chunk-scheme problems that would be mis-scored — an ``I-X`` that starts a chunk (IOB1 files, or
damaged IOB2), and tags without a ``B-``/``I-`` prefix beside prefixed ones — and sentences longer than
``long`` tokens (a file without blank lines reads as one huge sentence). Problems are listed with the
example's index so they can be found in the file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from .readers import TaggedSentence, TextExample
from .tags import chunks_starting_inside


def _lengths(values: list[int]) -> dict[str, Any]:
    if not values:
        return {"min": None, "median": None, "max": None}
    ordered = sorted(values)
    return {"min": ordered[0], "median": ordered[len(ordered) // 2], "max": ordered[-1]}


def check_pairs(examples: list[TextExample], tokenize: Callable[[str], list[str]] = str.split) -> dict[str, Any]:
    """The report for source → target pairs (seq2seq): the targets' lengths, not a distribution of them as labels."""
    report = check_texts([TextExample(ex.text) for ex in examples], tokenize)
    empty = [i for i, ex in enumerate(examples) if not (ex.label or "").strip()]
    if empty:
        report["problems"].append(f"{len(empty)} empty targets (first at example {empty[0] + 1})")
    report.pop("labels")
    report.pop("conflicting_duplicates")
    report["sources_with_several_targets"] = sum(len({examples[i].label for i in rows}) > 1 for rows in _rows_by_text(examples))
    report["target_words"] = _lengths([len((ex.label or "").split()) for ex in examples])  # whitespace tokens
    return report


def _rows_by_text(examples: list[TextExample]) -> list[list[int]]:
    seen: dict[str, list[int]] = {}
    for i, ex in enumerate(examples):
        seen.setdefault(ex.text.strip(), []).append(i)
    return [rows for text, rows in seen.items() if text and len(rows) > 1]


def check_texts(examples: list[TextExample], tokenize: Callable[[str], list[str]] = str.split) -> dict[str, Any]:
    """The report for labelled texts; lengths are counted in ``tokenize``'s tokens (a recipe's tokenizer, so
    that Chinese text is not one whitespace token a review)."""
    labels = Counter(ex.label for ex in examples if ex.label is not None)
    empty = [i for i, ex in enumerate(examples) if not ex.text.strip()]
    duplicates = _rows_by_text(examples)
    conflicting = [rows for rows in duplicates if len({examples[i].label for i in rows}) > 1]
    problems = []
    by_case: dict[str, list[str]] = {}
    for label in labels:
        by_case.setdefault(label.casefold(), []).append(label)
    for spellings in (v for v in by_case.values() if len(v) > 1):
        problems.append(f"labels that differ only in case ({', '.join(map(repr, spellings))}) are {len(spellings)} "
                        "different classes; spell them alike if they mean one")
    if len(labels) == 1:
        problems.append(f"only one label ({next(iter(labels))!r}): a classifier needs at least two")
    if empty:
        problems.append(f"{len(empty)} empty texts (first at example {empty[0] + 1})")
    if conflicting:
        problems.append(f"{len(conflicting)} texts appear with different labels (first at examples "
                        f"{', '.join(str(i + 1) for i in conflicting[0][:3])})")
    return {"examples": len(examples), "labels": dict(labels.most_common()), "empty_texts": len(empty),
            "duplicate_texts": sum(len(rows) - 1 for rows in duplicates), "conflicting_duplicates": len(conflicting),
            "tokens_per_text": _lengths([len(tokenize(ex.text)) for ex in examples]), "problems": problems}


def check_tagged(sentences: list[TaggedSentence], long: int = 250) -> dict[str, Any]:
    tags = Counter(t for s in sentences for t in (s.tags or ()))
    prefixed = [t for t in tags if t[:2] in ("B-", "I-", "E-", "S-")]
    unprefixed = sorted(t for t in tags if t != "O" and t not in prefixed)
    starts_inside = [(i, j) for i, s in enumerate(sentences) for j in chunks_starting_inside(s.tags or ())]
    too_long = [i for i, s in enumerate(sentences) if len(s.tokens) > long]
    problems = []
    if starts_inside:
        i, j = starts_inside[0]
        problems.append(f"{len(starts_inside)} chunks start with I- (first: sentence {i + 1}, token {j + 1}): IOB1 or "
                        "damaged IOB2; convert to IOB2 (seqeval and conlleval read them differently)")
    if prefixed and unprefixed:
        problems.append(f"tags without a B-/I- prefix beside prefixed ones: {', '.join(unprefixed[:5])}")
    if too_long:
        problems.append(f"{len(too_long)} sentences of more than {long} tokens (first: sentence {too_long[0] + 1}); "
                        "is a blank line missing between sentences?")
    return {"sentences": len(sentences), "tokens": sum(len(s.tokens) for s in sentences),
            "tags": dict(tags.most_common()), "chunks_starting_inside": len(starts_inside),
            "unprefixed_tags": unprefixed if prefixed else [], "tokens_per_sentence": _lengths([len(s.tokens) for s in sentences]),
            "problems": problems}


def _key(example) -> object:
    return example.tokens if isinstance(example, TaggedSentence) else getattr(example, "text", example).strip()


def also_in(examples: list, reference: list) -> int:
    """How many of ``examples`` (texts, or tagged sentences by their tokens) also occur in ``reference``: the
    overlap between a corpus's test or dev split and its training split, which flatters a score.

    >>> also_in([TextExample("a"), TextExample("b "), TextExample("c")], [TextExample("b"), TextExample("a")])
    2
    """
    seen = {_key(ex) for ex in reference}
    return sum(_key(ex) in seen for ex in examples)


def check_split(examples: list, tokenize: Callable[[str], list[str]] = str.split, pairs: bool = False) -> dict[str, Any]:
    """The report for one split, by the kind of example it holds (``pairs``: source → target texts)."""
    if pairs:
        return check_pairs(examples, tokenize)
    if examples and isinstance(examples[0], TaggedSentence):
        return check_tagged(examples)
    if examples and isinstance(examples[0], TextExample):
        return check_texts(examples, tokenize)
    return {"examples": len(examples), "problems": []}
