"""Chunk tag schemes: IOB2 (BIO) and BIOES, and conversion between them.

In BIO a chunk of type X is ``B-X I-X …``; BIOES also marks a chunk's last token ``E-X`` and a one-token chunk
``S-X``. Conversion works chunk by chunk, so ``to_bio(to_bioes(tags)) == tags`` for any valid IOB2 sequence.

>>> to_bioes(["B-NP", "I-NP", "O", "B-VP", "B-NP"])
['B-NP', 'E-NP', 'O', 'S-VP', 'S-NP']
>>> to_bio(["B-NP", "E-NP", "O", "S-VP"])
['B-NP', 'I-NP', 'O', 'B-VP']
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
