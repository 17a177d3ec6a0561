"""Attention over a padded source: scores e_j for each source position j, masked softmax, context vector.

For a query s (the decoder state, [B, Q]) and keys h_j (encoder outputs, [B, S, K]):

* ``bahdanau`` (additive, Bahdanau et al. 2015): e_j = vᵀ tanh(W s + U h_j)
* ``dot`` (Luong et al. 2015): e_j = sᵀ h_j (needs Q = K)
* ``general`` (Luong): e_j = sᵀ W h_j
* ``concat`` (Luong): e_j = vᵀ tanh(W [s; h_j])

α = softmax_j(e_j) over the real source positions only (padding gets exactly 0) and c = Σ_j α_j h_j.
``forward(query, keys, mask)`` → (context [B, K], weights [B, S]); ``forward_all`` does the same for T queries
at once ([B, T, Q] → [B, T, K], [B, T, S]; for dot and general attention two batched matrix products). Keys that
do not depend on the query (U h_j, W h_j) can be computed once per source with ``precompute(keys)`` and passed
as ``projected``.
"""

from __future__ import annotations

import torch
from torch import nn

SCORES = ("bahdanau", "dot", "general", "concat")


class Attention(nn.Module):
    def __init__(self, kind: str, query_size: int, key_size: int, hidden_size: int | None = None):
        super().__init__()
        if kind not in SCORES:
            raise ValueError(f"unknown attention {kind!r} (known: {', '.join(SCORES)})")
        if kind == "dot" and query_size != key_size:
            raise ValueError(f"dot attention needs query and key sizes equal, got {query_size} and {key_size}")
        self.kind = kind
        hidden = hidden_size or query_size
        if kind == "bahdanau":
            self.W = nn.Linear(query_size, hidden, bias=False)
            self.U = nn.Linear(key_size, hidden)
            self.v = nn.Linear(hidden, 1, bias=False)
        elif kind == "general":
            self.W = nn.Linear(key_size, query_size, bias=False)
        elif kind == "concat":
            self.W = nn.Linear(query_size + key_size, hidden)
            self.v = nn.Linear(hidden, 1, bias=False)

    def precompute(self, keys: torch.Tensor) -> torch.Tensor | None:
        """The query-independent part of the scores for keys [B, S, K], or None."""
        if self.kind == "bahdanau":
            return self.U(keys)
        if self.kind == "general":
            return self.W(keys)
        return None

    def scores(self, query: torch.Tensor, keys: torch.Tensor, projected: torch.Tensor | None = None) -> torch.Tensor:
        if self.kind == "dot":
            return torch.bmm(keys, query.unsqueeze(2)).squeeze(2)
        if projected is None:
            projected = self.precompute(keys)
        if self.kind == "general":
            return torch.bmm(projected, query.unsqueeze(2)).squeeze(2)
        if self.kind == "bahdanau":
            return self.v(torch.tanh(self.W(query).unsqueeze(1) + projected)).squeeze(2)
        expanded = query.unsqueeze(1).expand(-1, keys.size(1), -1)
        return self.v(torch.tanh(self.W(torch.cat([expanded, keys], dim=-1)))).squeeze(2)

    def forward(self, query: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor,
                projected: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """query [B, Q], keys [B, S, K], mask [B, S] (True on real positions) → (context [B, K], weights [B, S])."""
        e = self.scores(query, keys, projected).masked_fill(~mask, float("-inf"))
        weights = torch.softmax(e, dim=-1)
        return torch.bmm(weights.unsqueeze(1), keys).squeeze(1), weights

    def forward_all(self, queries: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor,
                    projected: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """queries [B, T, Q] (every decoder step at once) → (contexts [B, T, K], weights [B, T, S])."""
        if self.kind in ("dot", "general"):
            if self.kind == "general" and projected is None:
                projected = self.precompute(keys)
            e = torch.bmm(queries, (keys if self.kind == "dot" else projected).transpose(1, 2))  # [B, T, S]
        else:
            B, T = queries.size(0), queries.size(1)
            flat = lambda x: x.unsqueeze(1).expand(B, T, *x.shape[1:]).reshape(B * T, *x.shape[1:])  # noqa: E731
            e = self.scores(queries.reshape(B * T, -1), flat(keys), flat(projected) if projected is not None else None)
            e = e.view(B, T, -1)
        weights = torch.softmax(e.masked_fill(~mask.unsqueeze(1), float("-inf")), dim=-1)
        return torch.bmm(weights, keys), weights
