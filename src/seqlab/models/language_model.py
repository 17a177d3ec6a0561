"""A recurrent language model (N → N): p(w_t | w_<t, c) for every position, optionally conditioned on a label c.

    x_t = E[w_t] (⊕ C[c])                      embedding (and condition embedding, concatenated)
    h_t = RNN/LSTM/GRU(x_t, h_{t−1})           seqlab.layers, stacked
    p(w_{t+1} | ·) = softmax(W h_t + b)        W = E when ``tie_weights`` (Press & Wolf 2017; Inan et al. 2017)

``softmax: adaptive`` replaces the last line by an adaptive softmax (Grave et al. 2017; ``layers.adaptive_softmax``)
cut at ``cutoffs`` (those below the vocabulary size are kept): exact probabilities, a fraction of the cost with a
large vocabulary. ``tie_weights`` then ties the head's words to the embedding. ``forward`` returns scores whose
softmax is p either way (logits, or log-probabilities for the adaptive softmax); ``nll`` is the training loss
without computing all V scores.

Regularisation, as the two papers the recipes follow use it:

* ``variational: false`` — Zaremba et al. (2014): standard dropout (a fresh mask per position) on the
  non-recurrent connections only: the embedding output, between layers and before the softmax.
* ``variational: true`` — AWD-LSTM (Merity et al. 2018): the same three places with one mask per sequence
  (locked dropout), DropConnect on the hidden-to-hidden weights (``weight_drop``) and embedding dropout
  (``embed_dropout``: whole word types dropped from the embedding matrix, the rest scaled by 1/(1−p)).

``dropout_input`` / ``dropout_hidden`` default to ``dropout``. ``init_range`` r initialises every weight
U(−r, r) as Zaremba et al. do (0.1 small, 0.05 medium); null keeps each layer's own initialisation.

The incremental-decoder contract of ``seqlab.decoding``: ``start(batch_size, condition)`` → state;
``step(state, tokens [B, T])`` → (logits of the next token [B, V], state), feeding T ≥ 1 tokens at once
exactly as one at a time; ``reorder(state, index)`` → the state of rows ``index`` (beam search).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..layers.adaptive_softmax import AdaptiveSoftmax
from ..layers.embedding import embedding
from .encoders import CELLS


@dataclass
class RecurrentLMConfig:
    name: str = "rnn_lm"
    vocab_size: int = 0  # filled from the vocabulary
    padding_idx: int = 0
    embed_dim: int = 200
    hidden_size: int = 200
    num_layers: int = 2
    cell: str = "lstm"  # lstm, gru, rnn
    dropout: float = 0.0  # before the softmax (and the default for the two below)
    dropout_input: float | None = None  # on the embedding output
    dropout_hidden: float | None = None  # between stacked layers
    variational: bool = False  # locked masks (one per sequence), as AWD-LSTM
    weight_drop: float = 0.0  # DropConnect on hidden-to-hidden weights (AWD-LSTM)
    embed_dropout: float = 0.0  # drop whole word types from the embedding (AWD-LSTM's dropoute)
    tie_weights: bool = False  # output layer shares the embedding matrix (needs a projection if H ≠ E)
    init_range: float | None = 0.1  # every weight U(-r, r) (Zaremba et al.); null keeps layer defaults
    softmax: str = "full"  # full, or adaptive (Grave et al. 2017)
    cutoffs: list[int] = field(default_factory=lambda: [2000, 10000])  # adaptive: head and cluster bounds
    div_value: float = 4.0  # adaptive: cluster i projects to d / div_value^(i+1) dimensions
    num_conditions: int = 0  # > 0: a label c in [0, num_conditions) conditions every step
    condition_dim: int = 16


@dataclass
class LMState:
    """Decoder state for ``seqlab.decoding``: the recurrent state and the condition of each row."""

    hidden: torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None
    condition: torch.Tensor | None  # [B] or None
    batch_size: int


def _reorder_hidden(hidden, index: torch.Tensor):
    if hidden is None:
        return None
    if isinstance(hidden, tuple):
        return tuple(h.index_select(1, index) for h in hidden)
    return hidden.index_select(1, index)


def detach_state(hidden):
    """The hidden state cut from the graph (truncated BPTT carries values, never gradients)."""
    if hidden is None:
        return None
    if isinstance(hidden, tuple):
        return tuple(h.detach() for h in hidden)
    return hidden.detach()


SOFTMAXES = ("full", "adaptive")


class RecurrentLM(nn.Module):
    def __init__(self, cfg: RecurrentLMConfig):
        super().__init__()
        if cfg.cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {cfg.cell!r}")
        if cfg.softmax not in SOFTMAXES:
            raise ValueError(f"softmax must be one of {', '.join(SOFTMAXES)}, got {cfg.softmax!r}")
        if cfg.vocab_size <= 0:
            raise ValueError("vocab_size must be set (it is filled from the vocabulary)")
        self.cfg = cfg
        p_in = cfg.dropout if cfg.dropout_input is None else cfg.dropout_input
        p_hid = cfg.dropout if cfg.dropout_hidden is None else cfg.dropout_hidden
        self.p_in, self.p_out, self.embed_dropout = p_in, cfg.dropout, cfg.embed_dropout
        self.embedding = embedding(cfg.vocab_size, cfg.embed_dim, cfg.padding_idx, cfg.init_range)
        self.condition = nn.Embedding(cfg.num_conditions, cfg.condition_dim) if cfg.num_conditions else None
        input_size = cfg.embed_dim + (cfg.condition_dim if cfg.num_conditions else 0)
        variational = cfg.variational
        self.rnn = CELLS[cfg.cell](
            input_size, cfg.hidden_size, num_layers=cfg.num_layers, batch_first=True,
            dropout=p_hid if cfg.num_layers > 1 else 0.0, locked_dropout=variational,
            input_dropout=p_in if variational else 0.0, output_dropout=cfg.dropout if variational else 0.0,
            weight_drop=cfg.weight_drop,
        )
        out_dim = cfg.embed_dim if cfg.tie_weights else cfg.hidden_size
        self.projection = nn.Linear(cfg.hidden_size, out_dim) if out_dim != cfg.hidden_size else None
        self.decoder = nn.Linear(out_dim, cfg.vocab_size) if cfg.softmax == "full" else None
        self.adaptive = None
        if cfg.softmax == "adaptive":
            cutoffs = [c for c in cfg.cutoffs if c < cfg.vocab_size]
            self.adaptive = AdaptiveSoftmax(out_dim, cfg.vocab_size, cutoffs, cfg.div_value,
                                            tied=self.embedding if cfg.tie_weights else None)
        if cfg.init_range is not None:
            with torch.no_grad():
                for name, p in self.named_parameters():
                    if not name.startswith("embedding"):
                        p.uniform_(-cfg.init_range, cfg.init_range)
        if cfg.tie_weights and self.decoder is not None:
            self.decoder.weight = self.embedding.weight

    def word_embedding(self) -> nn.Embedding:
        return self.embedding

    def encoder_parts(self) -> dict[str, nn.Module]:
        """What ``models.transfer`` moves into a classifier or tagger."""
        return {"embedding": self.embedding, "rnn": self.rnn}

    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        weight = self.embedding.weight
        if self.training and self.embed_dropout:  # AWD-LSTM: drop word types, scale the kept ones
            keep = torch.empty(weight.size(0), 1, device=weight.device).bernoulli_(1 - self.embed_dropout)
            weight = weight * keep / (1 - self.embed_dropout)
        return F.embedding(ids, weight, self.embedding.padding_idx)

    def forward(self, ids: torch.Tensor, hidden=None, condition: torch.Tensor | None = None,
                lengths: torch.Tensor | None = None, targets: torch.Tensor | None = None):
        """ids [B, T] → (scores [B, T, V], final hidden state); softmax(scores) = p(next word). ``lengths`` for
        padded sentence batches. With ``targets`` [B, T] → (Σ −log p(target) over the positions not
        IGNORE_INDEX (−100), final hidden state), the training loss: the adaptive softmax then scores each
        position's own cluster only, never all V words. (Through ``forward``, so DDP sees the call.)"""
        out, hidden = self.features(ids, hidden, condition, lengths)
        if targets is None:
            return self.scores(out), hidden
        out, targets = out.reshape(-1, out.size(-1)), targets.reshape(-1)
        if self.adaptive is not None:
            return self.adaptive.nll(out, targets), hidden
        return F.cross_entropy(self.decoder(out), targets, reduction="sum"), hidden

    def scores(self, out: torch.Tensor) -> torch.Tensor:
        """Features [..., D] → logits (full softmax) or exact log-probabilities (adaptive) [..., V]."""
        return self.decoder(out) if self.adaptive is None else self.adaptive.log_prob(out)

    def features(self, ids: torch.Tensor, hidden=None, condition: torch.Tensor | None = None,
                 lengths: torch.Tensor | None = None):
        """ids [B, T] → (the output layer's input [B, T, D], final hidden state)."""
        x = self._embed(ids)
        if not self.cfg.variational:
            x = F.dropout(x, self.p_in, self.training)
        if self.condition is not None:
            if condition is None:
                raise ValueError("this language model is conditional: give a condition (label id) per row")
            c = self.condition(condition).unsqueeze(1).expand(-1, x.size(1), -1)
            x = torch.cat([x, c], dim=-1)
        out, hidden = self.rnn(x, hidden, lengths=lengths)
        if not self.cfg.variational:
            out = F.dropout(out, self.p_out, self.training)
        if self.projection is not None:
            out = self.projection(out)
        return out, hidden

    # --------------------------------------------------------------- incremental decoding (seqlab.decoding)

    def start(self, batch_size: int, condition: torch.Tensor | None = None) -> LMState:
        return LMState(None, condition, batch_size)

    def step(self, state: LMState, tokens: torch.Tensor) -> tuple[torch.Tensor, LMState]:
        logits, hidden = self(tokens, state.hidden, state.condition)
        return logits[:, -1], LMState(hidden, state.condition, state.batch_size)

    def reorder(self, state: LMState, index: torch.Tensor) -> LMState:
        cond = state.condition.index_select(0, index) if state.condition is not None else None
        return LMState(_reorder_hidden(state.hidden, index), cond, index.numel())
