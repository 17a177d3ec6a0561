"""Token embeddings with a stated initialisation.

torch's ``nn.Embedding`` starts at N(0, 1): vectors of norm ≈ √E, large enough to saturate the gates of a
fresh LSTM and to make a fresh CNN over-confident. seqlab's models start at U(−a, a) instead (Kim 2014:
a = 0.25, matching the variance of word2vec vectors; AWD-LSTM: a = 0.1), with the padding row zero.
"""

from __future__ import annotations

import torch
from torch import nn


def embedding(vocab_size: int, dim: int, padding_idx: int = 0, init: float | None = 0.1) -> nn.Embedding:
    """An ``nn.Embedding`` initialised U(−init, init) (None keeps torch's N(0, 1)); row ``padding_idx`` zero."""
    emb = nn.Embedding(vocab_size, dim, padding_idx=padding_idx)
    if init is not None:
        with torch.no_grad():
            emb.weight.uniform_(-init, init)
            emb.weight[padding_idx].zero_()
    return emb
