"""Transformer blocks (Vaswani et al. 2017) from seqlab modules.

Multi-head scaled dot-product attention, for queries Q [B, Tq, d], keys K and values V [B, Tk, d]:

    head_i = softmax(Q W_i^Q (K W_i^K)ᵀ / √d_k + M) V W_i^V,   MHA = [head_1; …; head_h] W^O

with M = −∞ where a key is padding (``key_mask`` False) or, with ``causal``, where the key comes after the
query. The product runs in ``torch.nn.functional.scaled_dot_product_attention``; ``need_weights`` computes
the same softmax explicitly to return the weights averaged over heads (for alignment heatmaps).

Layers: x + Dropout(Sublayer(LN(x))) (``pre_norm``) or LN(x + Dropout(Sublayer(x))) (post-norm, the paper's);
feed-forward W₂ ReLU(W₁ x). Positions: sinusoidal PE(p, 2i) = sin(p / 10000^{2i/d}), PE(p, 2i+1) = cos(…),
or learned.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model: int, heads: int, dropout: float = 0.0):
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model {d_model} is not divisible by heads {heads}")
        self.heads, self.d_k, self.dropout = heads, d_model // heads, dropout
        self.q, self.k, self.v, self.o = (nn.Linear(d_model, d_model) for _ in range(4))

    def _split(self, x: torch.Tensor) -> torch.Tensor:  # [B, T, d] → [B, h, T, d_k]
        return x.view(x.size(0), x.size(1), self.heads, self.d_k).transpose(1, 2)

    def project(self, key: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(K W^K, K W^V) split into heads [B, h, Tk, d_k]: what a key/value cache holds."""
        return self._split(self.k(key)), self._split(self.v(key))

    def forward(self, query: torch.Tensor, key: torch.Tensor, key_mask: torch.Tensor | None = None,
                causal: bool = False, need_weights: bool = False, cache: dict | None = None,
                kv: tuple[torch.Tensor, torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``cache`` (incremental self-attention): the projected keys and values of the positions before ``key``
        (``cache["k"]``, ``cache["v"]``), extended here by ``key``'s; ``key_mask`` then covers all of them. ``kv``:
        keys and values projected once beforehand (``project``; the decoder's memory), ``key`` unused."""
        q = self._split(self.q(query))
        k, v = kv if kv is not None else self.project(key)
        if cache is not None:
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
            cache["k"], cache["v"] = k, v
        Tq, Tk = query.size(1), k.size(2)
        allowed = torch.ones(Tq, Tk, dtype=torch.bool, device=query.device)
        if causal:  # query i sees keys j ≤ i + (Tk − Tq): the newest Tq positions of a longer key sequence
            allowed = torch.tril(allowed, diagonal=Tk - Tq)
        allowed = allowed.view(1, 1, Tq, Tk)
        if key_mask is not None:
            allowed = allowed & key_mask.view(key_mask.size(0), 1, 1, Tk)
        weights = None
        if need_weights:
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.d_k)
            probs = torch.softmax(scores.masked_fill(~allowed, float("-inf")), -1)
            weights = probs.mean(1)  # [B, Tq, Tk]
            out = F.dropout(probs, self.dropout, self.training) @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed,
                                                 dropout_p=self.dropout if self.training else 0.0)
        out = out.transpose(1, 2).reshape(query.size(0), Tq, -1)
        return self.o(out), weights


class FeedForward(nn.Sequential):
    def __init__(self, d_model: int, d_ff: int, dropout: float):
        super().__init__(nn.Linear(d_model, d_ff), nn.ReLU(), nn.Dropout(dropout), nn.Linear(d_ff, d_model))


class Sublayer(nn.Module):
    """Residual + layer norm around one sublayer, pre- or post-norm."""

    def __init__(self, d_model: int, dropout: float, pre_norm: bool):
        super().__init__()
        self.norm, self.dropout, self.pre_norm = nn.LayerNorm(d_model), nn.Dropout(dropout), pre_norm

    def forward(self, x: torch.Tensor, fn) -> tuple[torch.Tensor, object]:
        out = fn(self.norm(x) if self.pre_norm else x)
        extra = None
        if isinstance(out, tuple):
            out, extra = out
        y = x + self.dropout(out)
        return (y if self.pre_norm else self.norm(y)), extra


class EncoderLayer(nn.Module):
    def __init__(self, d_model: int, heads: int, d_ff: int, dropout: float, pre_norm: bool):
        super().__init__()
        self.attn, self.ff = MultiHeadAttention(d_model, heads, dropout), FeedForward(d_model, d_ff, dropout)
        self.s1, self.s2 = Sublayer(d_model, dropout, pre_norm), Sublayer(d_model, dropout, pre_norm)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x, _ = self.s1(x, lambda h: self.attn(h, h, mask))
        x, _ = self.s2(x, self.ff)
        return x


class DecoderLayer(nn.Module):
    def __init__(self, d_model: int, heads: int, d_ff: int, dropout: float, pre_norm: bool):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, heads, dropout)
        self.cross_attn = MultiHeadAttention(d_model, heads, dropout)
        self.ff = FeedForward(d_model, d_ff, dropout)
        self.s1, self.s2, self.s3 = (Sublayer(d_model, dropout, pre_norm) for _ in range(3))

    def forward(self, y: torch.Tensor, y_mask: torch.Tensor | None, memory: torch.Tensor | None,
                memory_mask: torch.Tensor | None, need_weights: bool = False, cache: dict | None = None):
        """``cache`` (incremental decoding): ``y`` holds only the new positions and ``y_mask`` the whole prefix;
        the self-attention keys and values of earlier positions and the memory's (``memory_kv``) come from it,
        and the new positions' are added to it."""
        y, _ = self.s1(y, lambda h: self.self_attn(h, h, y_mask, causal=True, cache=cache))
        weights = None
        if memory is not None:
            kv = cache.get("memory_kv") if cache is not None else None
            y, weights = self.s2(y, lambda h: self.cross_attn(h, memory, memory_mask, need_weights=need_weights, kv=kv))
        y, _ = self.s3(y, self.ff)
        return y, weights


def sinusoidal_positions(length: int, d_model: int) -> torch.Tensor:
    """PE [length, d_model]: sin on even dimensions, cos on odd, wavelengths from 2π to 10000·2π."""
    position = torch.arange(length).unsqueeze(1).float()
    div = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
    pe = torch.zeros(length, d_model)
    pe[:, 0::2] = torch.sin(position * div)
    pe[:, 1::2] = torch.cos(position * div)[:, : d_model // 2]
    return pe


class Positions(nn.Module):
    def __init__(self, d_model: int, max_length: int, kind: str = "sinusoidal"):
        super().__init__()
        if kind not in ("sinusoidal", "learned"):
            raise ValueError(f"positions must be sinusoidal or learned, got {kind!r}")
        self.learned = nn.Embedding(max_length, d_model) if kind == "learned" else None
        self.register_buffer("table", sinusoidal_positions(max_length, d_model), persistent=False)
        self.max_length = max_length

    def forward(self, length: int, offset: int = 0) -> torch.Tensor:
        if offset + length > self.max_length:
            raise ValueError(f"sequence of {offset + length} positions exceeds max_length {self.max_length}")
        if self.learned is not None:
            return self.learned.weight[offset : offset + length]
        return self.table[offset : offset + length]
