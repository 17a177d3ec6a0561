"""Linear-chain conditional random field (Lafferty et al. 2001) over per-token emission scores, as used by
BiLSTM-CRF taggers (Huang et al. 2015; Lample et al. 2016).

For emissions e [B, T, C] (C tags), a tag sequence y_1..y_n of a sentence of length n scores

    s(y) = start[y_1] + Σ_{t=1}^{n} e_t[y_t] + Σ_{t=2}^{n} trans[y_{t−1}, y_t] + end[y_n]

and p(y | x) = exp s(y) / Z with log Z = logsumexp over all Cⁿ sequences, computed by the forward algorithm
α_1 = start + e_1,  α_t[j] = logsumexp_i(α_{t−1}[i] + trans[i, j]) + e_t[j],  log Z = logsumexp(α_n + end).
Viterbi decoding replaces logsumexp by max and keeps back-pointers.

Constraints: ``allowed`` [C, C] (and ``allowed_start`` / ``allowed_end`` [C]) mark which transitions may
occur; forbidden ones get −10⁴ added to their scores in training and −∞ in decoding, so Viterbi never emits
an invalid sequence (e.g. ``I-PER`` after ``O`` in BIO). ``bio_constraints`` / ``bioes_constraints`` build
them from tag names.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..search import viterbi

FORBIDDEN = -1.0e4


def _scheme_parts(tag: str) -> tuple[str, str | None]:
    if tag in ("O", "<pad>"):
        return "O", None
    prefix, _, kind = tag.partition("-")
    return prefix, kind


def bio_constraints(tags: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(allowed [C, C], allowed_start [C], allowed_end [C]) for IOB2: I-X only after B-X or I-X.

    >>> allowed, start, end = bio_constraints(["O", "B-PER", "I-PER"])
    >>> allowed.int().tolist(), start.int().tolist()
    ([[1, 1, 0], [1, 1, 1], [1, 1, 1]], [1, 1, 0])
    """
    parts = [_scheme_parts(t) for t in tags]
    C = len(tags)
    allowed = torch.ones(C, C, dtype=torch.bool)
    for j, (pj, kj) in enumerate(parts):
        if pj == "I":
            for i, (pi, ki) in enumerate(parts):
                allowed[i, j] = pi in ("B", "I") and ki == kj
    start = torch.tensor([p != "I" for p, _ in parts])
    end = torch.ones(C, dtype=torch.bool)
    return allowed, start, end


def bioes_constraints(tags: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """BIOES: B-X and I-X must continue with I-X or E-X; I-X and E-X follow B-X or I-X."""
    parts = [_scheme_parts(t) for t in tags]
    C = len(tags)
    allowed = torch.zeros(C, C, dtype=torch.bool)
    for i, (pi, ki) in enumerate(parts):
        for j, (pj, kj) in enumerate(parts):
            if pi in ("B", "I"):
                allowed[i, j] = pj in ("I", "E") and kj == ki
            else:  # O, E, S end a chunk
                allowed[i, j] = pj in ("O", "B", "S")
    start = torch.tensor([p in ("O", "B", "S") for p, _ in parts])
    end = torch.tensor([p in ("O", "E", "S") for p, _ in parts])
    return allowed, start, end


class CRF(nn.Module):
    def __init__(self, num_tags: int, allowed: torch.Tensor | None = None, allowed_start: torch.Tensor | None = None,
                 allowed_end: torch.Tensor | None = None):
        super().__init__()
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags).uniform_(-0.1, 0.1))  # [from, to]
        self.start = nn.Parameter(torch.empty(num_tags).uniform_(-0.1, 0.1))
        self.end = nn.Parameter(torch.empty(num_tags).uniform_(-0.1, 0.1))
        ones2, ones = torch.ones(num_tags, num_tags, dtype=torch.bool), torch.ones(num_tags, dtype=torch.bool)
        self.register_buffer("allowed", ones2 if allowed is None else allowed.bool(), persistent=False)
        self.register_buffer("allowed_start", ones if allowed_start is None else allowed_start.bool(), persistent=False)
        self.register_buffer("allowed_end", ones if allowed_end is None else allowed_end.bool(), persistent=False)

    def _scores(self, forbidden: float):
        """(transitions, start, end) with forbidden entries replaced by ``forbidden`` (−10⁴ or −∞)."""
        def constrain(p: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
            return torch.where(allowed, p, torch.full_like(p, forbidden))

        return (constrain(self.transitions, self.allowed), constrain(self.start, self.allowed_start),
                constrain(self.end, self.allowed_end))

    def score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """s(y) [B] for tags [B, T] under mask [B, T] (True on real tokens, each row starting with one)."""
        trans, start, end = self._scores(FORBIDDEN)
        B, T, _ = emissions.shape
        tags = tags.masked_fill(~mask, 0)
        m = mask.to(emissions.dtype)
        emit = emissions.gather(2, tags.unsqueeze(-1)).squeeze(-1)  # [B, T]
        total = start[tags[:, 0]] + (emit * m).sum(1)
        if T > 1:
            total = total + (trans[tags[:, :-1], tags[:, 1:]] * m[:, 1:]).sum(1)
        last = tags.gather(1, (mask.sum(1) - 1).clamp_min(0).unsqueeze(1)).squeeze(1)
        return total + end[last]

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """log Z [B] by the forward algorithm."""
        trans, start, end = self._scores(FORBIDDEN)
        alpha = start + emissions[:, 0]  # [B, C]
        for t in range(1, emissions.size(1)):
            step = torch.logsumexp(alpha.unsqueeze(2) + trans, dim=1) + emissions[:, t]  # [B, C]
            alpha = torch.where(mask[:, t : t + 1], step, alpha)
        return torch.logsumexp(alpha + end, dim=1)

    def forward(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood per sentence [B]: log Z − s(y)."""
        return self.log_partition(emissions, mask) - self.score(emissions, tags, mask)

    @torch.no_grad()
    def decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        """The highest-scoring allowed tag sequence of each sentence (Viterbi, ``seqlab.search``), trimmed to
        its length."""
        trans, start, end = (x.detach().cpu().numpy() for x in self._scores(float("-inf")))
        return viterbi(emissions.detach().float().cpu().numpy(), mask.detach().cpu().numpy(), trans, start, end)

    def exported(self) -> dict[str, list]:
        """transitions, start and end as JSON lists (forbidden entries None) for an exported tagger."""
        def listed(x: torch.Tensor) -> list:
            return [None if v == float("-inf") else v for v in x.flatten().tolist()]

        trans, start, end = self._scores(float("-inf"))
        return {"transitions": listed(trans), "start": listed(start), "end": listed(end), "tags": trans.size(0)}
