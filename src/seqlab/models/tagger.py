"""Sequence labeller (aligned N → N): word embeddings, optional character features for rare and unknown
words, a (Bi)LSTM or (Bi)GRU over the sentence, per-token emission scores [B, T, C], and either a softmax
per token or a linear-chain CRF over the whole sentence (Huang et al. 2015; Lample et al. 2016).

Character features (``char_features``): ``cnn`` — character embeddings, one convolution of width 3 and
max-pooling over the word's characters (Ma & Hovy 2016); ``lstm`` — a character BiLSTM whose two final
states are concatenated (Lample et al. 2016). Either is concatenated to the word embedding, as are
embeddings of any extra categorical input columns (``feature_sizes``; CoNLL-2000 chunkers read its POS column).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ..data.batching import lengths_to_mask
from ..layers.crf import CRF, bio_constraints, bioes_constraints
from ..layers.embedding import embedding
from ..layers.recurrent import GRU, LSTM


@dataclass
class TaggerConfig:
    name: str = "tagger"
    vocab_size: int = 0  # filled from the word vocabulary
    char_vocab_size: int = 0  # filled from the character vocabulary
    tags: list[str] = field(default_factory=list)  # filled from the training tags
    padding_idx: int = 0
    unk_idx: int = 1
    embed_dim: int = 100
    embed_init: float | None = 0.1
    word_dropout: float = 0.0
    char_features: str = "cnn"  # none, cnn, lstm
    char_embed_dim: int = 30
    char_hidden: int = 30  # CNN filters, or LSTM units per direction
    cell: str = "lstm"  # lstm, gru
    hidden_size: int = 200  # per direction
    num_layers: int = 1
    bidirectional: bool = True
    dropout: float = 0.5  # on the embeddings and before the emission layer
    crf: bool = True
    constraints: str = "auto"  # auto (from the tag names), bio, bioes, none
    feature_sizes: list[int] = field(default_factory=list)  # filled: vocabulary of each extra input column
    feature_dim: int = 25  # embedding size of each extra input column (e.g. CoNLL-2000's POS tags)
    encoder_from: str | None = None  # a language model's run: embedding and recurrent layer start from it

    def check(self) -> tuple[str, str] | None:
        if self.cell not in ("lstm", "gru"):
            return "cell", f"must be one of lstm, gru, got {self.cell!r}"
        return None


class CharCNN(nn.Module):
    """Characters [N, W] → one vector per word [N, F]: embed, convolve (width 3), max over real characters."""

    def __init__(self, vocab_size: int, dim: int, filters: int):
        super().__init__()
        self.embedding = embedding(vocab_size, dim, 0, 0.1)
        self.conv = nn.Conv1d(dim, filters, 3, padding=1)
        self.output_size = filters

    def forward(self, chars: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        c = self.conv(self.embedding(chars).transpose(1, 2))  # [N, F, W]
        mask = lengths_to_mask(lengths.clamp_min(1), chars.size(1)).unsqueeze(1)
        return c.masked_fill(~mask, float("-inf")).amax(2)


class CharLSTM(nn.Module):
    """Characters [N, W] → [N, 2·H]: the final forward and backward states of a character BiLSTM."""

    def __init__(self, vocab_size: int, dim: int, hidden: int):
        super().__init__()
        self.embedding = embedding(vocab_size, dim, 0, 0.1)
        self.rnn = LSTM(dim, hidden, bidirectional=True, batch_first=True)
        self.output_size = 2 * hidden

    def forward(self, chars: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.rnn(self.embedding(chars), lengths=lengths.clamp_min(1))
        return torch.cat([h[0], h[1]], -1)


def constraint_tensors(tags: list[str], kind: str):
    if kind == "auto":
        prefixes = {t.split("-", 1)[0] for t in tags if "-" in t}
        kind = "bioes" if prefixes & {"E", "S"} else "bio" if "I" in prefixes else "none"
    if kind == "bio":
        return bio_constraints(tags)
    if kind == "bioes":
        return bioes_constraints(tags)
    if kind == "none":
        return None, None, None
    raise ValueError(f"constraints must be auto, bio, bioes or none, got {kind!r}")


class Tagger(nn.Module):
    def __init__(self, cfg: TaggerConfig):
        super().__init__()
        if cfg.char_features not in ("none", "cnn", "lstm"):
            raise ValueError(f"char_features must be none, cnn or lstm, got {cfg.char_features!r}")
        if cfg.cell not in ("lstm", "gru"):
            raise ValueError(f"cell must be lstm or gru, got {cfg.cell!r}")
        self.cfg = cfg
        self.embedding = embedding(cfg.vocab_size, cfg.embed_dim, cfg.padding_idx, cfg.embed_init)
        self.chars = None
        if cfg.char_features == "cnn":
            self.chars = CharCNN(cfg.char_vocab_size, cfg.char_embed_dim, cfg.char_hidden)
        elif cfg.char_features == "lstm":
            self.chars = CharLSTM(cfg.char_vocab_size, cfg.char_embed_dim, cfg.char_hidden)
        self.features = nn.ModuleList(embedding(n, cfg.feature_dim, 0, 0.1) for n in cfg.feature_sizes)
        width = cfg.embed_dim + (self.chars.output_size if self.chars is not None else 0)
        width += cfg.feature_dim * len(cfg.feature_sizes)
        self.dropout = nn.Dropout(cfg.dropout)
        rnn = LSTM if cfg.cell == "lstm" else GRU
        self.rnn = rnn(width, cfg.hidden_size, cfg.num_layers, bidirectional=cfg.bidirectional, batch_first=True,
                       dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)
        self.emissions = nn.Linear(cfg.hidden_size * (2 if cfg.bidirectional else 1), len(cfg.tags))
        self.crf = CRF(len(cfg.tags), *constraint_tensors(cfg.tags, cfg.constraints)) if cfg.crf else None

    def word_embedding(self) -> nn.Embedding:
        return self.embedding

    def encoder_parts(self) -> dict[str, nn.Module]:
        """What ``models.transfer`` may start from a language model (the recurrent layer only without
        character features, whose vectors widen its input)."""
        return {"embedding": self.embedding, "rnn": self.rnn}

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor, chars: torch.Tensor | None = None,
                char_lengths: torch.Tensor | None = None, features: torch.Tensor | None = None) -> torch.Tensor:
        """Emission scores [B, T, C] for ids [B, T], lengths [B], chars [B, T, W], char_lengths [B, T] and
        the extra input columns' ids features [B, T, F]."""
        if self.training and self.cfg.word_dropout:
            drop = torch.rand(ids.shape, device=ids.device) < self.cfg.word_dropout
            ids = ids.masked_fill(drop & (ids != self.cfg.padding_idx), self.cfg.unk_idx)
        x = self.embedding(ids)  # [B, T, E]
        if self.chars is not None:
            B, T, W = chars.shape
            per_word = self.chars(chars.view(B * T, W), char_lengths.view(B * T)).view(B, T, -1)
            x = torch.cat([x, per_word], -1)
        if len(self.features):
            x = torch.cat([x, *(emb(features[..., k]) for k, emb in enumerate(self.features))], -1)
        out, _ = self.rnn(self.dropout(x), lengths=lengths.clamp_min(1))  # [B, T, D]
        return self.emissions(self.dropout(out))  # [B, T, C]
