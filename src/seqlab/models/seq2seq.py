"""Recurrent encoder-decoder (N → M) with optional attention, on seqlab's recurrent layers.

Encoder: x_j = E_src[w_j] → (Bi)GRU/LSTM → h_j [D = H · directions]; with ``reverse_source`` each source is
reversed within its length first (Sutskever et al. 2014), inside the model, so training and inference
agree. Bridge: the decoder's initial state per layer is s_0 = tanh(W_b [h→_last; h←_first]).

Decoder, one step per target token y_{t−1} → p(y_t | y_<t, x), by ``attention``:

* ``none`` (Sutskever et al. 2014): s_t = RNN(E_tgt[y_{t−1}], s_{t−1}); p = softmax(W_o s_t).
* ``bahdanau`` (Bahdanau et al. 2015): c_t = attn(s_{t−1}, h) (additive); s_t = RNN([E[y_{t−1}]; c_t], s_{t−1});
  p = softmax(W_o tanh(W_c [s_t; c_t; E[y_{t−1}]])).
* ``dot`` / ``general`` / ``concat`` (Luong et al. 2015): s_t = RNN([E[y_{t−1}]; h̃_{t−1}], s_{t−1}) (the
  h̃_{t−1} part only with ``input_feeding``); c_t = attn(s_t, K h) over the keys projected to H;
  h̃_t = tanh(W_c [c_t; s_t]); p = softmax(W_o h̃_t).

Attention is masked to the real source positions (``seqlab.layers.attention``). Training uses teacher
forcing: where ``teacher[t]`` is False the previous *predicted* token is fed instead of the gold one. Luong
attention without input feeding, fully teacher-forced, trains without the per-step loop (``_forward_fused``).

Incremental-decoder contract (``seqlab.decoding``): ``start(batch_size, (src, src_lengths))`` encodes;
``step(state, tokens [B, T])`` → (logits [B, V], state); ``reorder(state, index)``. The state keeps every
step's attention weights (``alignment`` [B, t, S]), reordered with the beams, for heatmaps.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from ..data.batching import lengths_to_mask
from ..layers.attention import SCORES, Attention
from ..layers.embedding import embedding
from .encoders import CELLS

ATTENTIONS = ("none", *SCORES)


@dataclass
class Seq2SeqConfig:
    name: str = "seq2seq"
    src_vocab_size: int = 0  # filled from the vocabularies
    tgt_vocab_size: int = 0
    padding_idx: int = 0
    embed_dim: int = 128
    hidden_size: int = 256
    num_layers: int = 1
    cell: str = "gru"  # gru, lstm, rnn
    bidirectional: bool = True  # the encoder
    attention: str = "bahdanau"  # none, bahdanau, dot, general, concat
    input_feeding: bool = False  # Luong et al.: feed h̃_{t-1} to the next step
    dropout: float = 0.2
    reverse_source: bool = False  # Sutskever et al.: read each source backwards
    embed_init: float | None = 0.1
    teacher_forcing: float = 1.0  # training: probability of feeding the gold previous token (the task draws it)
    label_smoothing: float = 0.0  # training loss


@dataclass
class Seq2SeqState:
    keys: torch.Tensor  # [B, S, D] encoder outputs (projected to H for Luong attention)
    projected: torch.Tensor | None  # query-independent attention part
    mask: torch.Tensor  # [B, S]
    hidden: torch.Tensor | tuple[torch.Tensor, torch.Tensor]
    feed: torch.Tensor | None  # Luong's h̃_{t-1}
    alignment: torch.Tensor  # [B, t, S]


def reverse_within_lengths(ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Each row's first ``length`` tokens reversed, padding left in place."""
    T = ids.size(1)
    pos = torch.arange(T, device=ids.device).unsqueeze(0)
    src = torch.where(pos < lengths.unsqueeze(1), lengths.unsqueeze(1) - 1 - pos, pos)
    return ids.gather(1, src)


def _select(hidden, index: torch.Tensor):
    if isinstance(hidden, tuple):
        return tuple(h.index_select(1, index) for h in hidden)
    return hidden.index_select(1, index)


class Seq2Seq(nn.Module):
    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        if cfg.cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {cfg.cell!r}")
        if cfg.attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {', '.join(ATTENTIONS)}, got {cfg.attention!r}")
        if cfg.input_feeding and cfg.attention in ("none", "bahdanau"):
            raise ValueError("input_feeding belongs to Luong attention (dot, general, concat)")
        self.cfg = cfg
        H, E, dirs = cfg.hidden_size, cfg.embed_dim, 2 if cfg.bidirectional else 1
        D = H * dirs
        self.src_embedding = embedding(cfg.src_vocab_size, E, cfg.padding_idx, cfg.embed_init)
        self.tgt_embedding = embedding(cfg.tgt_vocab_size, E, cfg.padding_idx, cfg.embed_init)
        self.encoder = CELLS[cfg.cell](E, H, cfg.num_layers, batch_first=True, bidirectional=cfg.bidirectional,
                                       dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)
        self.bridge = nn.Linear(D, H)
        self.bridge_cell = nn.Linear(D, H) if cfg.cell == "lstm" else None
        self.luong = cfg.attention in ("dot", "general", "concat")
        self.key_projection = nn.Linear(D, H, bias=False) if self.luong else None
        key_size = H if self.luong else D
        self.attention = Attention(cfg.attention, H, key_size) if cfg.attention != "none" else None
        extra = D if cfg.attention == "bahdanau" else (H if cfg.input_feeding else 0)
        self.decoder = CELLS[cfg.cell](E + extra, H, cfg.num_layers, batch_first=True,
                                       dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)
        if cfg.attention == "bahdanau":
            self.combine = nn.Linear(H + D + E, H)
        elif self.luong:
            self.combine = nn.Linear(H + H, H)
        else:
            self.combine = None
        self.dropout = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(H, cfg.tgt_vocab_size)

    def word_embedding(self) -> nn.Embedding:
        return self.src_embedding

    # ---------------------------------------------------------------- encoder
    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> Seq2SeqState:
        lengths = lengths.clamp_min(1)
        if self.cfg.reverse_source:
            src = reverse_within_lengths(src, lengths)
        x = self.dropout(self.src_embedding(src))
        out, final = self.encoder(x, lengths=lengths)  # [B, S, D], [L·dirs, B, H]
        B, dirs, L = src.size(0), 2 if self.cfg.bidirectional else 1, self.cfg.num_layers

        def bridge(state: torch.Tensor, layer: nn.Linear) -> torch.Tensor:
            per_layer = state.view(L, dirs, B, -1).permute(0, 2, 1, 3).reshape(L, B, -1)  # [L, B, D]
            return torch.tanh(layer(per_layer))

        if isinstance(final, tuple):
            hidden = (bridge(final[0], self.bridge), bridge(final[1], self.bridge_cell))
        else:
            hidden = bridge(final, self.bridge)
        keys = self.key_projection(out) if self.key_projection is not None else out
        projected = self.attention.precompute(keys) if self.attention is not None else None
        feed = out.new_zeros(B, self.cfg.hidden_size) if self.cfg.input_feeding else None
        mask = lengths_to_mask(lengths, src.size(1))
        return Seq2SeqState(keys, projected, mask, hidden, feed, out.new_zeros(B, 0, src.size(1)))

    # ---------------------------------------------------------------- decoder
    def _top(self, hidden) -> torch.Tensor:
        return (hidden[0] if isinstance(hidden, tuple) else hidden)[-1]

    def decode_step(self, token: torch.Tensor, state: Seq2SeqState) -> tuple[torch.Tensor, Seq2SeqState]:
        """token [B] → (logits [B, V], state after it)."""
        emb = self.dropout(self.tgt_embedding(token))  # [B, E]
        weights = None
        if self.cfg.attention == "bahdanau":
            context, weights = self.attention(self._top(state.hidden), state.keys, state.mask, state.projected)
            rnn_in = torch.cat([emb, context], -1)
        elif self.cfg.input_feeding:
            rnn_in = torch.cat([emb, state.feed], -1)
        else:
            rnn_in = emb
        out, hidden = self.decoder(rnn_in.unsqueeze(1), state.hidden)
        s = out[:, 0]
        feed = state.feed
        if self.cfg.attention == "bahdanau":
            h = torch.tanh(self.combine(torch.cat([s, context, emb], -1)))
        elif self.luong:
            context, weights = self.attention(s, state.keys, state.mask, state.projected)
            h = torch.tanh(self.combine(torch.cat([context, s], -1)))
            feed = h if self.cfg.input_feeding else None
        else:
            h = s
        alignment = state.alignment
        if weights is not None:
            alignment = torch.cat([alignment, weights.unsqueeze(1)], 1)
        return self.out(self.dropout(h)), replace(state, hidden=hidden, feed=feed, alignment=alignment)

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor,
                teacher: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher-forced logits [B, T, V] for target inputs ``tgt_in`` [B, T] (``<bos> y₁ … y_{T−1}``).
        ``teacher`` [T] bool: False at step t feeds the previous step's prediction instead of ``tgt_in[:, t]``."""
        state = self.encode(src, src_lengths)
        if self.luong and not self.cfg.input_feeding and (teacher is None or bool(teacher.all())):
            return self._forward_fused(state, tgt_in)
        logits = []
        token = tgt_in[:, 0]
        for t in range(tgt_in.size(1)):
            if t > 0:
                token = tgt_in[:, t] if teacher is None or bool(teacher[t]) else logits[-1].argmax(-1)
            step_logits, state = self.decode_step(token, state)
            logits.append(step_logits)
        return torch.stack(logits, 1)

    def _forward_fused(self, state: Seq2SeqState, tgt_in: torch.Tensor) -> torch.Tensor:
        """Luong attention without input feeding, fully teacher-forced: the decoder's recurrence does not depend on
        the attention, so it runs over the whole target in one call, and the attention of every step is two
        batched products — the per-step loop's logits (``decode_step``), without the loop."""
        s, _ = self.decoder(self.dropout(self.tgt_embedding(tgt_in)), state.hidden)  # [B, T, H]
        contexts, _ = self.attention.forward_all(s, state.keys, state.mask, state.projected)
        return self.out(self.dropout(torch.tanh(self.combine(torch.cat([contexts, s], -1)))))

    # ---------------------------------------------------------------- incremental decoding (seqlab.decoding)
    def start(self, batch_size: int, context: tuple[torch.Tensor, torch.Tensor]) -> Seq2SeqState:
        src, lengths = context
        return self.encode(src, lengths)

    def step(self, state: Seq2SeqState, tokens: torch.Tensor) -> tuple[torch.Tensor, Seq2SeqState]:
        for t in range(tokens.size(1)):
            logits, state = self.decode_step(tokens[:, t], state)
        return logits, state

    def reorder(self, state: Seq2SeqState, index: torch.Tensor) -> Seq2SeqState:
        pick = lambda x: x.index_select(0, index) if x is not None else None  # noqa: E731
        return Seq2SeqState(pick(state.keys), pick(state.projected), pick(state.mask), _select(state.hidden, index),
                            pick(state.feed), pick(state.alignment))
