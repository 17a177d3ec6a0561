"""Pooling a padded sequence of vectors [B, T, D] into one vector [B, D], ignoring padding.

* ``last`` — the final recurrent state (given by the caller; for a bidirectional layer the forward
  state after the last real token concatenated with the backward state after the first);
* ``mean`` — Σ_t m_t x_t / Σ_t m_t;
* ``max``  — max_t over real positions only;
* ``attention`` — a = softmax_t(vᵀ tanh(W x_t)) over real positions, Σ_t a_t x_t (Yang et al. 2016);
* ``concat`` — [last; max; mean] (ULMFiT's concat pooling, Howard & Ruder 2018): [B, 3·D].
"""

from __future__ import annotations

import torch
from torch import nn

POOLINGS = ("last", "mean", "max", "attention", "concat")


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(x.dtype)  # [B, T, 1]
    return (x * m).sum(1) / m.sum(1).clamp_min(1.0)


def masked_max(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return x.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)


class AttentionPooling(nn.Module):
    def __init__(self, input_size: int, attention_size: int | None = None):
        super().__init__()
        attention_size = attention_size or input_size
        self.proj = nn.Linear(input_size, attention_size)
        self.score = nn.Linear(attention_size, 1, bias=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, return_weights: bool = False):
        scores = self.score(torch.tanh(self.proj(x))).squeeze(-1)  # [B, T]
        weights = scores.masked_fill(~mask, float("-inf")).softmax(-1)
        pooled = torch.bmm(weights.unsqueeze(1), x).squeeze(1)  # [B, D]
        return (pooled, weights) if return_weights else pooled
