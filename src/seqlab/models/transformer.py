"""The Transformer encoder-decoder (Vaswani et al. 2017) for seq2seq, from ``seqlab.layers.transformer``.

    memory = Encoder(√d · E_src[x] + P)                    N layers of self-attention + feed-forward
    p(y_t | y_<t, x) = softmax(W_o Decoder(√d · E_tgt[y_<t] + P, memory))   causal self-attention + cross-attention

Padding is masked in every attention over the source and the target; the decoder's causal mask keeps
position t from seeing t' > t. ``share_embeddings`` ties the target embedding and the output layer (and the
source embedding too when the vocabularies are one, i.e. equal in size). Same interface as
``models.seq2seq.Seq2Seq``: ``forward(src, src_lengths, tgt_in)`` (teacher forcing is always full here), and
the incremental-decoder contract with a key/value cache: each step runs only the new token through the decoder,
its self-attention reading the keys and values every layer kept for the earlier positions, its cross-attention
the memory's keys and values projected once at ``start``; ``reorder`` moves the caches with the beams. Exact
against re-reading the whole prefix (``decode``), which each step did before (O(t²) per hypothesis). The state
also keeps the last layer's cross-attention for heatmaps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..data.batching import lengths_to_mask
from ..layers.transformer import DecoderLayer, EncoderLayer, Positions


@dataclass
class TransformerConfig:
    name: str = "transformer"
    src_vocab_size: int = 0
    tgt_vocab_size: int = 0
    padding_idx: int = 0
    d_model: int = 256
    heads: int = 4
    layers: int = 3  # encoder and decoder each
    d_ff: int = 1024
    dropout: float = 0.1
    pre_norm: bool = True
    positions: str = "sinusoidal"  # or learned
    max_length: int = 512
    share_embeddings: bool = False
    teacher_forcing: float = 1.0  # kept for the task's interface; a Transformer always trains fully teacher-forced
    label_smoothing: float = 0.1
    kv_cache: bool = True  # decoding: cache keys and values (False re-reads the whole prefix each step, the reference)


@dataclass
class TransformerState:
    memory: torch.Tensor  # [B, S, d]
    mask: torch.Tensor  # [B, S]
    prefix: torch.Tensor  # [B, t] target tokens read so far
    alignment: torch.Tensor  # [B, t, S]
    cache: list[dict] | None = None  # per decoder layer: "k", "v" [B, h, t, d_k] of the prefix; "memory_kv"


class TransformerSeq2Seq(nn.Module):
    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.src_embedding = nn.Embedding(cfg.src_vocab_size, d, padding_idx=cfg.padding_idx)
        self.tgt_embedding = nn.Embedding(cfg.tgt_vocab_size, d, padding_idx=cfg.padding_idx)
        for emb in (self.src_embedding, self.tgt_embedding):
            nn.init.normal_(emb.weight, 0.0, d ** -0.5)
            with torch.no_grad():
                emb.weight[cfg.padding_idx].zero_()
        if cfg.share_embeddings and cfg.src_vocab_size == cfg.tgt_vocab_size:
            self.tgt_embedding.weight = self.src_embedding.weight
        self.positions = Positions(d, cfg.max_length, cfg.positions)
        self.encoder = nn.ModuleList(EncoderLayer(d, cfg.heads, cfg.d_ff, cfg.dropout, cfg.pre_norm) for _ in range(cfg.layers))
        self.decoder = nn.ModuleList(DecoderLayer(d, cfg.heads, cfg.d_ff, cfg.dropout, cfg.pre_norm) for _ in range(cfg.layers))
        self.enc_norm = nn.LayerNorm(d) if cfg.pre_norm else nn.Identity()
        self.dec_norm = nn.LayerNorm(d) if cfg.pre_norm else nn.Identity()
        self.dropout = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(d, cfg.tgt_vocab_size)
        if cfg.share_embeddings:
            self.out.weight = self.tgt_embedding.weight

    def word_embedding(self) -> nn.Embedding:
        return self.src_embedding

    def _embed(self, emb: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
        return self.dropout(emb(ids) * math.sqrt(self.cfg.d_model) + self.positions(ids.size(1)))

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> TransformerState:
        mask = lengths_to_mask(lengths.clamp_min(1), src.size(1))
        x = self._embed(self.src_embedding, src)
        for layer in self.encoder:
            x = layer(x, mask)
        return TransformerState(self.enc_norm(x), mask, src.new_zeros(src.size(0), 0), x.new_zeros(src.size(0), 0, src.size(1)))

    def decode(self, memory: torch.Tensor, memory_mask: torch.Tensor, tgt: torch.Tensor, need_weights: bool = False):
        """Logits [B, T, V] for every prefix of ``tgt`` (and the last layer's cross-attention [B, T, S])."""
        y = self._embed(self.tgt_embedding, tgt)
        tgt_mask = tgt != self.cfg.padding_idx
        weights = None
        for i, layer in enumerate(self.decoder):
            y, weights = layer(y, tgt_mask, memory, memory_mask, need_weights and i == len(self.decoder) - 1)
        return self.out(self.dec_norm(y)), weights

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor,
                teacher: torch.Tensor | None = None) -> torch.Tensor:
        state = self.encode(src, src_lengths)
        return self.decode(state.memory, state.mask, tgt_in)[0]

    # ---------------------------------------------------------------- incremental decoding (seqlab.decoding)
    def start(self, batch_size: int, context: tuple[torch.Tensor, torch.Tensor]) -> TransformerState:
        state = self.encode(*context)
        state.cache = [{"memory_kv": layer.cross_attn.project(state.memory)} for layer in self.decoder]
        return state

    def step(self, state: TransformerState, tokens: torch.Tensor) -> tuple[torch.Tensor, TransformerState]:
        """Logits for the token after ``tokens`` [B, n] (n ≥ 1 new positions), reading the cached prefix."""
        if not self.cfg.kv_cache:  # the reference: the whole prefix through the decoder again
            prefix = torch.cat([state.prefix, tokens], 1)
            logits, weights = self.decode(state.memory, state.mask, prefix, need_weights=True)
            return logits[:, -1], TransformerState(state.memory, state.mask, prefix, weights, state.cache)
        if state.cache is None:  # a state from encode() rather than start()
            state = TransformerState(state.memory, state.mask, state.prefix, state.alignment,
                                     [{"memory_kv": layer.cross_attn.project(state.memory)} for layer in self.decoder])
        offset = state.prefix.size(1)
        prefix = torch.cat([state.prefix, tokens], 1)
        y = self.dropout(self.tgt_embedding(tokens) * math.sqrt(self.cfg.d_model) + self.positions(tokens.size(1), offset))
        caches = [dict(c) for c in state.cache]  # the old state stays as it was
        weights = None
        for i, (layer, cache) in enumerate(zip(self.decoder, caches)):
            y, weights = layer(y, prefix != self.cfg.padding_idx, state.memory, state.mask,
                               need_weights=i == len(self.decoder) - 1, cache=cache)
        logits = self.out(self.dec_norm(y[:, -1]))
        return logits, TransformerState(state.memory, state.mask, prefix, torch.cat([state.alignment, weights], 1), caches)

    def reorder(self, state: TransformerState, index: torch.Tensor) -> TransformerState:
        pick = lambda x: x.index_select(0, index)  # noqa: E731
        caches = [{k: (tuple(map(pick, v)) if isinstance(v, tuple) else pick(v)) for k, v in c.items()}
                  for c in state.cache] if self.cfg.kv_cache and state.cache is not None else state.cache
        return TransformerState(pick(state.memory), pick(state.mask), pick(state.prefix), pick(state.alignment), caches)
