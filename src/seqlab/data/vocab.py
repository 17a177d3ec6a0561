"""Vocabulary: token ↔ id with the specials ``<pad>=0 <unk>=1 <bos>=2 <eos>=3``.

Order is deterministic: specials first, then tokens by descending frequency, ties broken by the token
string. ``min_freq`` drops rare tokens, ``max_size`` caps the non-special tokens kept.

>>> v = Vocab.build([["b", "a", "b"], ["c", "a", "b"]], min_freq=2)
>>> v.itos
['<pad>', '<unk>', '<bos>', '<eos>', 'b', 'a']
>>> v.encode(["a", "zzz"])
[5, 1]
>>> Vocab.from_dict(v.to_dict()).itos == v.itos
True
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)


class Vocab:
    def __init__(self, itos: Sequence[str]):
        self.itos = list(itos)
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("vocabulary has duplicate tokens")
        for s in SPECIALS:
            if s not in self.stoi:
                raise ValueError(f"vocabulary lacks the special token {s}")
        self.pad_id, self.unk_id = self.stoi[PAD], self.stoi[UNK]
        self.bos_id, self.eos_id = self.stoi[BOS], self.stoi[EOS]

    @classmethod
    def build(
        cls, sequences: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None
    ) -> Vocab:
        counts = Counter(tok for seq in sequences for tok in seq)
        for s in SPECIALS:
            counts.pop(s, None)
        kept = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[:max_size]
        return cls([*SPECIALS, *kept])

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def encode(self, tokens: Sequence[str]) -> list[int]:
        unk = self.unk_id
        return [self.stoi.get(t, unk) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.itos[i] for i in ids]

    def to_dict(self) -> dict:
        return {"itos": self.itos}

    @classmethod
    def from_dict(cls, d: dict) -> Vocab:
        return cls(d["itos"])
