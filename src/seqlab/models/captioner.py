"""Image → sequence with attention over image regions: *Show, Attend and Tell* (Xu et al. 2015), soft attention.

Encoder: a small CNN turns a grey image [B, 1, Hᵢ, Wᵢ] into a grid of regions: ``len(channels)`` blocks of
3 × 3 convolution + batch normalisation (``batch_norm``) + ReLU, each but the last followed by 2 × 2 max-pooling, give a_i ∈ R^D (D = channels[-1])
for the R = Hᵢ/2^p × Wᵢ/2^p cells of the grid (p = number of poolings), read row by row. With
``positions`` a learned vector per cell is added to a_i (a deviation from the paper, whose VGG features carry
position through their receptive fields: a small CNN's do not, and the decoder must tell left from right).
Cells whose columns lie wholly in an image's right padding (``widths``) are masked out. ``dropout`` applies to
the word embeddings and the layer below the output (on the regions it slowed learning ~3× here).

Decoder (LSTM, one step per word y_{t−1} → p(y_t | y_<t, a)):

* h₀ = tanh(W_h ā), c₀ = tanh(W_c ā), ā the mean of the unmasked a_i (the paper's initialisation);
* ``attention: soft``: e_ti = vᵀ tanh(W h_{t−1} + U a_i) (additive, ``seqlab.layers.attention``),
  α_t = softmax over the unmasked regions, z_t = β_t Σ_i α_ti a_i with the gate β_t = σ(W_β h_{t−1})
  (§4.2.1; ``gate: false`` drops it); h_t, c_t = LSTM([E y_{t−1}; z_t], h_{t−1}, c_{t−1});
  p(y_t) = softmax(W_o tanh(W_d [h_t; z_t; E y_{t−1}])) (the deep output layer);
* ``attention: none`` (the baseline): the regions enter only through h₀, c₀ (mean-pooled);
  h_t = LSTM(E y_{t−1}, h_{t−1}); p(y_t) = softmax(W_o h_t).

The doubly stochastic regulariser λ Σ_i (1 − Σ_t α_ti)² (λ = ``doubly_stochastic``) is added by the task,
from the α that ``forward`` returns. Incremental-decoder contract (``seqlab.decoding``):
``start(batch_size, (images, widths))``, ``step(state, tokens [B, T])`` → (logits [B, V], state),
``reorder(state, index)``; the state keeps every step's α (``alignment`` [B, t, R]).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
from torch import nn

from ..layers.attention import Attention
from ..layers.embedding import embedding
from ..layers.cells import LSTMCell

ATTENTIONS = ("soft", "none")


@dataclass
class CaptionerConfig:
    name: str = "captioner"
    vocab_size: int = 0  # filled from the caption vocabulary
    padding_idx: int = 0
    image_height: int = 20  # filled from the data section
    image_width: int = 72
    channels: list[int] = field(default_factory=lambda: [16, 32, 64])
    batch_norm: bool = True  # after each convolution
    positions: bool = True
    embed_dim: int = 64
    hidden_size: int = 256
    attention: str = "soft"  # soft, none
    gate: bool = True
    dropout: float = 0.3
    doubly_stochastic: float = 0.0  # λ of the attention regulariser (the task adds it; 0 = off)
    embed_init: float | None = 0.1


@dataclass
class CaptionerState:
    keys: torch.Tensor  # [B, R, D] region vectors
    projected: torch.Tensor | None  # U a_i, the query-independent part of the scores
    mask: torch.Tensor  # [B, R] True on real regions
    hidden: tuple[torch.Tensor, torch.Tensor]  # (h, c), each [B, H]
    alignment: torch.Tensor  # [B, t, R]


class RegionEncoder(nn.Module):
    """CNN: [B, 1, Hᵢ, Wᵢ] → regions [B, R, D] and the grid's (rows, columns)."""

    def __init__(self, channels: list[int], height: int, width: int, positions: bool, batch_norm: bool = True):
        super().__init__()
        blocks, previous = [], 1
        for i, c in enumerate(channels):
            blocks += [nn.Conv2d(previous, c, 3, padding=1), *([nn.BatchNorm2d(c)] if batch_norm else []), nn.ReLU()]
            if i < len(channels) - 1:
                blocks.append(nn.MaxPool2d(2))
            previous = c
        self.net = nn.Sequential(*blocks)
        self.stride = 2 ** (len(channels) - 1)
        self.grid = (height // self.stride, width // self.stride)
        if min(self.grid) < 1:
            raise ValueError(f"images of {height} × {width} are too small for {len(channels) - 1} poolings")
        self.positions = nn.Parameter(torch.randn(self.grid[0] * self.grid[1], channels[-1]) * 0.02) if positions else None

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.net(images)  # [B, D, rows, cols]
        regions = features.flatten(2).transpose(1, 2)  # [B, R, D]
        return regions + self.positions if self.positions is not None else regions

    def mask(self, widths: torch.Tensor) -> torch.Tensor:
        """[B, R]: a cell is real when its first pixel column lies inside the image's real width."""
        rows, cols = self.grid
        first_pixel = torch.arange(cols, device=widths.device) * self.stride  # [cols]
        return (first_pixel.unsqueeze(0) < widths.unsqueeze(1)).repeat(1, rows)  # row-major, like the regions


class Captioner(nn.Module):
    def __init__(self, cfg: CaptionerConfig):
        super().__init__()
        if cfg.attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {', '.join(ATTENTIONS)}, got {cfg.attention!r}")
        if not cfg.channels or min(cfg.channels) < 1:
            raise ValueError(f"channels must be positive sizes, got {cfg.channels}")
        self.cfg = cfg
        D, H, E = cfg.channels[-1], cfg.hidden_size, cfg.embed_dim
        self.encoder = RegionEncoder(cfg.channels, cfg.image_height, cfg.image_width, cfg.positions, cfg.batch_norm)
        self.init_h, self.init_c = nn.Linear(D, H), nn.Linear(D, H)
        self.embedding = embedding(cfg.vocab_size, E, cfg.padding_idx, cfg.embed_init)
        self.soft = cfg.attention == "soft"
        self.attention = Attention("bahdanau", H, D) if self.soft else None
        self.gate = nn.Linear(H, 1) if self.soft and cfg.gate else None
        self.decoder = LSTMCell(E + (D if self.soft else 0), H)  # one step at a time: seqlab.layers.cells
        self.deep = nn.Linear(H + D + E, H) if self.soft else None
        self.dropout = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(H, cfg.vocab_size)

    # ---------------------------------------------------------------- encoder
    def encode(self, images: torch.Tensor, widths: torch.Tensor) -> CaptionerState:
        regions = self.encoder(images)  # [B, R, D]
        mask = self.encoder.mask(widths)
        weights = mask.unsqueeze(2).to(regions.dtype)
        mean = (regions * weights).sum(1) / weights.sum(1).clamp_min(1.0)  # [B, D]
        hidden = (torch.tanh(self.init_h(mean)), torch.tanh(self.init_c(mean)))
        projected = self.attention.precompute(regions) if self.soft else None
        return CaptionerState(regions, projected, mask, hidden, regions.new_zeros(images.size(0), 0, regions.size(1)))

    # ---------------------------------------------------------------- decoder
    def decode_step(self, token: torch.Tensor, state: CaptionerState) -> tuple[torch.Tensor, CaptionerState]:
        """token [B] → (logits [B, V], state after it)."""
        emb = self.dropout(self.embedding(token))  # [B, E]
        h_prev = state.hidden[0]
        alignment = state.alignment
        if self.soft:
            context, alpha = self.attention(h_prev, state.keys, state.mask, state.projected)  # [B, D], [B, R]
            if self.gate is not None:
                context = torch.sigmoid(self.gate(h_prev)) * context
            hidden = self.decoder(torch.cat([emb, context], -1), state.hidden)
            h = torch.tanh(self.deep(torch.cat([hidden[0], context, emb], -1)))
            alignment = torch.cat([alignment, alpha.unsqueeze(1)], 1)
        else:
            hidden = self.decoder(emb, state.hidden)
            h = hidden[0]
        return self.out(self.dropout(h)), replace(state, hidden=hidden, alignment=alignment)

    def forward(self, images: torch.Tensor, widths: torch.Tensor, tgt_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced logits [B, T, V] for ``tgt_in`` [B, T] (``<bos> y₁ … y_{T−1}``) and α [B, T, R]
        ([B, 0, R] without attention)."""
        state = self.encode(images, widths)
        logits = []
        for t in range(tgt_in.size(1)):
            step_logits, state = self.decode_step(tgt_in[:, t], state)
            logits.append(step_logits)
        return torch.stack(logits, 1), state.alignment

    # ---------------------------------------------------------------- incremental decoding (seqlab.decoding)
    def start(self, batch_size: int, context: tuple[torch.Tensor, torch.Tensor]) -> CaptionerState:
        images, widths = context
        return self.encode(images, widths)

    def step(self, state: CaptionerState, tokens: torch.Tensor) -> tuple[torch.Tensor, CaptionerState]:
        for t in range(tokens.size(1)):
            logits, state = self.decode_step(tokens[:, t], state)
        return logits, state

    def reorder(self, state: CaptionerState, index: torch.Tensor) -> CaptionerState:
        pick = lambda x: x.index_select(0, index) if x is not None else None  # noqa: E731
        return CaptionerState(pick(state.keys), pick(state.projected), pick(state.mask),
                              tuple(h.index_select(0, index) for h in state.hidden), pick(state.alignment))
