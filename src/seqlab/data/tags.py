"""Chunk tag schemes: IOB2 (BIO) and BIOES, and conversion between them.

In BIO a chunk of type X is ``B-X I-X …``; BIOES also marks a chunk's last token ``E-X`` and a one-token chunk
``S-X``. Conversion works chunk by chunk, so ``to_bio(to_bioes(tags)) == tags`` for any valid IOB2 sequence.

>>> to_bioes(["B-NP", "I-NP", "O", "B-VP", "B-NP"])
['B-NP', 'E-NP', 'O', 'S-VP', 'S-NP']
>>> to_bio(["B-NP", "E-NP", "O", "S-VP"])
['B-NP', 'I-NP', 'O', 'B-VP']

IOB1 (CoNLL-2000's original and some older corpora) writes ``B-X`` only between two adjacent chunks of the
same type and starts every other chunk with ``I-X``; read as IOB2 such a file is mis-scored, so it is either
converted on reading (``data.input_scheme: iob1``) or refused.

>>> iob1_to_iob2(["I-NP", "I-NP", "B-NP", "O", "I-VP"])
['B-NP', 'I-NP', 'B-NP', 'O', 'B-VP']
>>> chunks_starting_inside(["I-NP", "I-NP", "O", "B-VP", "I-VP", "I-NP"])
[0, 5]
"""

from __future__ import annotations

from collections.abc import Sequence


def to_bioes(tags: Sequence[str]) -> list[str]:
    out = []
    for i, tag in enumerate(tags):
        if tag == "O":
            out.append(tag)
            continue
        prefix, kind = tag.split("-", 1)
        continues = i + 1 < len(tags) and tags[i + 1] == f"I-{kind}"
        if prefix == "B":
            out.append(f"B-{kind}" if continues else f"S-{kind}")
        else:
            out.append(f"I-{kind}" if continues else f"E-{kind}")
    return out


def to_bio(tags: Sequence[str]) -> list[str]:
    out = []
    for tag in tags:
        if tag == "O":
            out.append(tag)
            continue
        prefix, kind = tag.split("-", 1)
        out.append(f"B-{kind}" if prefix in ("B", "S") else f"I-{kind}")
    return out


def chunks_starting_inside(tags: Sequence[str]) -> list[int]:
    """Positions of the ``I-X`` tags that do not continue an X chunk (they start one in IOB1)."""
    out, previous = [], "O"
    for i, tag in enumerate(tags):
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            out.append(i)
        previous = tag if tag[:2] in ("B-", "I-") else "O"
    return out


def iob1_to_iob2(tags: Sequence[str]) -> list[str]:
    starts = set(chunks_starting_inside(tags))
    return [f"B-{tag[2:]}" if i in starts else tag for i, tag in enumerate(tags)]


def chunks(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """(type, first, last) token positions of each chunk of IOB2 / BIOES ``tags``; a tag without a prefix (a
    part of speech) is a one-token chunk of its own type, ``O`` none.

    >>> chunks(["B-PER", "I-PER", "O", "B-LOC", "NOUN"])
    [('PER', 0, 1), ('LOC', 3, 3), ('NOUN', 4, 4)]
    """
    out: list[tuple[str, int, int]] = []
    open_kind = None
    for i, tag in enumerate(tags):
        prefix, _, kind = tag.partition("-") if tag[:2] in ("B-", "I-", "E-", "S-") else ("", "", tag)
        if tag == "O":
            open_kind = None
        elif prefix in ("I", "E") and open_kind == kind:
            out[-1] = (kind, out[-1][1], i)
        else:
            out.append((kind, i, i))
            open_kind = kind if prefix in ("B", "I") else None
        if prefix in ("E", "S") or not prefix:
            open_kind = None
    return out


def tag_spans(text: str, tokens: list[str], tags: Sequence[str]) -> list[dict]:
    """The chunks of ``tags`` as ``{"type", "first", "last", "start", "end", "text"}``: token positions
    (inclusive) and character offsets in ``text`` (None when the tokenizer changed a token beyond case)."""
    from .tokenizers import token_offsets

    offsets = token_offsets(text, tokens)
    spans = []
    for kind, first, last in chunks(tags):
        start, end = offsets[first], offsets[last]
        found = start is not None and end is not None
        spans.append({"type": kind, "first": first, "last": last, "start": start[0] if found else None,
                      "end": end[1] if found else None,
                      "text": text[start[0]:end[1]] if found else " ".join(tokens[first:last + 1])})
    return spans
