"""Adaptive softmax (Grave et al. 2017): an exact softmax over a large vocabulary that costs little for the
frequent words, which are most of the tokens.

The vocabulary, ordered by frequency, is cut at ``cutoffs`` c₀ < c₁ < … < V into a head (the c₀ most frequent
words) and tail clusters Tᵢ = [cᵢ, cᵢ₊₁). The head scores its words and one entry per cluster:

    log p(w | h) = log softmax(W_head h)[w]                                   w in the head
    log p(w | h) = log softmax(W_head h)[c₀ + i] + log softmax(U_i V_i h)[w − cᵢ]   w in cluster i

V_i projects h down to d / div_valueⁱ⁺¹ dimensions (rare words get fewer), U_i scores the cluster's words.
The probabilities over all V words sum to 1 exactly; training needs a tail only for the rows whose target
lies in it, so a step costs about (c₀ + clusters) · d plus a small share of each tail, instead of V · d.
With no cutoffs the head is the whole vocabulary: the full softmax.

Parameter layout and initial sizes are those of ``torch.nn.AdaptiveLogSoftmaxWithLoss`` (head with an
optional bias, tails without), so the two agree when given the same weights (tested). Unlike it, the head's
word rows may be tied to an embedding matrix (``tied``: its first c₀ rows, Press & Wolf 2017).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class AdaptiveSoftmax(nn.Module):
    def __init__(self, in_features: int, vocab_size: int, cutoffs: Sequence[int] = (), div_value: float = 4.0,
                 head_bias: bool = True, tied: nn.Embedding | None = None):
        super().__init__()
        cutoffs = list(cutoffs)
        if cutoffs != sorted(set(cutoffs)) or (cutoffs and (cutoffs[0] <= 0 or cutoffs[-1] >= vocab_size)):
            raise ValueError(f"cutoffs must increase strictly within (0, {vocab_size}), got {cutoffs}")
        self.vocab_size, self.cutoffs = vocab_size, cutoffs + [vocab_size]
        self.shortlist = self.cutoffs[0]
        self.n_clusters = len(cutoffs)
        self.tied = tied
        if tied is not None and tied.weight.shape[1] != in_features:
            raise ValueError(f"a tied head needs embeddings of size {in_features}, got {tied.weight.shape[1]}")
        self.head_words = None if tied is not None else nn.Parameter(torch.empty(self.shortlist, in_features))
        self.head_clusters = nn.Parameter(torch.empty(self.n_clusters, in_features))
        self.head_bias = nn.Parameter(torch.zeros(self.shortlist + self.n_clusters)) if head_bias else None
        self.tails = nn.ModuleList()
        for i in range(self.n_clusters):
            hidden = max(1, int(in_features // (div_value ** (i + 1))))
            size = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tails.append(nn.Sequential(nn.Linear(in_features, hidden, bias=False), nn.Linear(hidden, size, bias=False)))
        bound = in_features ** -0.5  # nn.Linear's default
        for p in (self.head_words, self.head_clusters):
            if p is not None:
                nn.init.uniform_(p, -bound, bound)

    def head_weight(self) -> torch.Tensor:
        """[c₀ + clusters, d]: the head's word rows (tied or its own) and one row per cluster."""
        words = self.tied.weight[: self.shortlist] if self.tied is not None else self.head_words
        return torch.cat([words, self.head_clusters]) if self.n_clusters else words

    def _head(self, x: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(F.linear(x, self.head_weight(), self.head_bias), dim=-1)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """x [..., d] → log p(w | x) [..., V] for every word: exact, sums to 1 over V."""
        head = self._head(x)
        parts = [head[..., : self.shortlist]]
        for i, tail in enumerate(self.tails):
            cluster = head[..., self.shortlist + i : self.shortlist + i + 1]
            parts.append(F.log_softmax(tail(x), dim=-1) + cluster)
        return torch.cat(parts, dim=-1)

    def nll(self, x: torch.Tensor, target: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
        """Σ −log p(targetₙ | xₙ) over the rows whose target is not ``ignore_index``; x [N, d], target [N].
        Each tail runs only on the rows whose target lies in its cluster."""
        keep = target != ignore_index
        x, target = x[keep], target[keep]
        head = self._head(x)
        head_target = target.clone()
        total = x.new_zeros(())
        for i, tail in enumerate(self.tails):
            low, high = self.cutoffs[i], self.cutoffs[i + 1]
            rows = ((target >= low) & (target < high)).nonzero().squeeze(1)
            if rows.numel() == 0:
                continue
            head_target[rows] = self.shortlist + i
            tail_lp = F.log_softmax(tail(x.index_select(0, rows)), dim=-1)
            total = total - tail_lp.gather(1, (target.index_select(0, rows) - low).unsqueeze(1)).sum()
        return total - head.gather(1, head_target.unsqueeze(1)).sum()
