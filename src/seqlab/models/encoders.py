"""Embedding + recurrent encoder over a padded batch with lengths.

Outputs [B, T, D] with D = H · directions (padding positions are zero) and the final state [B, D]:
the forward direction's state after each sequence's last real token, concatenated (bidirectional) with
the backward direction's state after its first token. ``word_dropout`` replaces each real token by
``<unk>`` with that probability during training (Iyyer et al. 2015), ``embed_dropout`` drops embedding units.
Embeddings start at U(−``embed_init``, ``embed_init``) (0.1, as AWD-LSTM), small next to torch's N(0, 1),
which saturates the gates of a freshly initialised LSTM. The recurrent layer is seqlab's own
(``seqlab.layers.recurrent``), which handles the lengths exactly on the fused kernel.
"""

from __future__ import annotations

import torch
from torch import nn

from ..layers.embedding import embedding
from ..layers.recurrent import GRU, LSTM, RNN

CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}


class RecurrentEncoder(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        hidden_size: int,
        num_layers: int = 1,
        cell: str = "lstm",
        bidirectional: bool = True,
        dropout: float = 0.0,
        embed_dropout: float = 0.0,
        padding_idx: int = 0,
        word_dropout: float = 0.0,
        unk_idx: int = 1,
        embed_init: float | None = 0.1,
    ):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {cell!r}")
        self.embedding = embedding(vocab_size, embed_dim, padding_idx, embed_init)
        self.embed_dropout = nn.Dropout(embed_dropout)
        self.word_dropout, self.unk_idx, self.padding_idx = word_dropout, unk_idx, padding_idx
        self.rnn = CELLS[cell](
            embed_dim, hidden_size, num_layers=num_layers, batch_first=True,
            bidirectional=bidirectional, dropout=dropout if num_layers > 1 else 0.0,
        )
        self.output_size = hidden_size * (2 if bidirectional else 1)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """ids [B, T] → the recurrent layer's input [B, T, E] (word dropout, embedding, embedding dropout)."""
        if self.training and self.word_dropout:  # Iyyer et al. 2015: whole tokens become <unk>
            drop = torch.rand(ids.shape, device=ids.device) < self.word_dropout
            ids = ids.masked_fill(drop & (ids != self.padding_idx), self.unk_idx)
        return self.embed_dropout(self.embedding(ids))  # [B, T, E]

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.embed(ids)
        out, state = self.rnn(x, lengths=lengths.clamp_min(1))  # [B, T, D]
        h = state[0] if isinstance(state, tuple) else state  # [layers · dirs, B, H]
        dirs = 2 if self.rnn.bidirectional else 1
        final = torch.cat([h[-dirs + d] for d in range(dirs)], dim=-1)  # [B, D]
        return out, final
