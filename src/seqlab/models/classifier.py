"""Sequence → one output (N → 1): a recurrent text classifier and TextCNN (Kim 2014), both mapping
(ids [B, T], lengths [B]) → logits [B, C]; and a recurrent regressor over real-valued inputs. All are pure:
no device, loss or randomness beyond dropout."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ..data.batching import lengths_to_mask
from ..layers.conv import ConvMaxPool
from ..layers.embedding import embedding
from ..layers.pooling import POOLINGS, AttentionPooling, masked_max, masked_mean
from .encoders import CELLS as RECURRENT
from .encoders import RecurrentEncoder


@dataclass
class RecurrentClassifierConfig:
    """Embedding → (Bi)RNN/LSTM/GRU → pooling over time → dropout → linear."""

    name: str = "rnn_classifier"
    vocab_size: int = 0  # filled from the vocabulary
    num_classes: int = 0  # filled from the labels
    padding_idx: int = 0
    embed_dim: int = 128
    hidden_size: int = 128
    num_layers: int = 1
    cell: str = "lstm"  # lstm, gru, rnn
    bidirectional: bool = True
    pooling: str = "max"  # last, mean, max, attention, concat (last ⊕ max ⊕ mean, ULMFiT)
    dropout: float = 0.5  # before the output layer (and between stacked layers)
    embed_dropout: float = 0.0
    word_dropout: float = 0.0  # probability that a token becomes <unk> during training
    unk_idx: int = 1  # seqlab's Vocab always puts <unk> at 1
    embed_init: float | None = 0.1  # embeddings start at U(-a, a); null keeps torch's N(0, 1)
    encoder_from: str | None = None  # a language model's run: embedding and recurrent layers start from it
    window: int | None = None  # read documents in windows of this many tokens, the state carried (BPT3C)

    def check(self) -> tuple[str, str] | None:
        if self.window is not None and (self.bidirectional or self.pooling == "attention"):
            return "window", "reading in windows needs bidirectional: false and pooling last, mean, max or concat"
        if self.window is not None and self.window < 1:
            return "window", f"must be a positive number of tokens, got {self.window}"
        return None


class RecurrentClassifier(nn.Module):
    def __init__(self, cfg: RecurrentClassifierConfig):
        super().__init__()
        if cfg.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {cfg.pooling!r}")
        self.pooling = cfg.pooling
        self.encoder = RecurrentEncoder(
            cfg.vocab_size, cfg.embed_dim, cfg.hidden_size, cfg.num_layers, cfg.cell,
            cfg.bidirectional, cfg.dropout, cfg.embed_dropout, cfg.padding_idx, cfg.word_dropout, cfg.unk_idx, cfg.embed_init,
        )
        d = self.encoder.output_size
        self.attention = AttentionPooling(d) if cfg.pooling == "attention" else None
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(3 * d if cfg.pooling == "concat" else d, cfg.num_classes)
        self.window = cfg.window

    def word_embedding(self) -> nn.Embedding:
        return self.encoder.embedding

    def encoder_parts(self) -> dict[str, nn.Module]:
        """What ``models.transfer`` starts from a language model."""
        return {"embedding": self.encoder.embedding, "rnn": self.encoder.rnn}

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if self.window is not None:
            return self.head(self.dropout(self._pool_windows(ids, lengths)))
        out, final = self.encoder(ids, lengths)  # [B, T, D], [B, D]
        mask = lengths_to_mask(lengths.clamp_min(1), ids.size(1))
        if self.pooling == "last":
            pooled = final
        elif self.pooling == "mean":
            pooled = masked_mean(out, mask)
        elif self.pooling == "max":
            pooled = masked_max(out, mask)
        elif self.pooling == "concat":
            pooled = torch.cat([final, masked_max(out, mask), masked_mean(out, mask)], dim=-1)
        else:
            pooled = self.attention(out, mask)
        return self.head(self.dropout(pooled))  # [B, C]

    def _pool_windows(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """BPT3C (ULMFiT): the document read ``window`` tokens at a time, the recurrent state carried from one
        window to the next, max and mean pooled as running values over every window, so memory grows with the
        window, not the document. The values equal reading it whole (tested); in training the state is detached
        between windows, so gradients are truncated at window edges as in truncated BPTT."""
        enc, W = self.encoder, self.window
        lengths = lengths.clamp_min(1)
        state, running_max, total = None, None, None
        for start in range(0, ids.size(1), W):
            chunk = ids[:, start : start + W]
            n = (lengths - start).clamp(0, chunk.size(1))  # real tokens of each row in this window
            out, new_state = enc.rnn(enc.embed(chunk), state, lengths=n.clamp_min(1))
            if state is not None:  # rows already ended keep their state
                alive = (n > 0).view(1, -1, 1)
                new_state = tuple(torch.where(alive, a, b) for a, b in zip(new_state, state)) \
                    if isinstance(new_state, tuple) else torch.where(alive, new_state, state)
            state = new_state
            mask = lengths_to_mask(n, chunk.size(1))
            window_max = out.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)
            window_sum = (out * mask.unsqueeze(-1).to(out.dtype)).sum(1)
            running_max = window_max if running_max is None else torch.maximum(running_max, window_max)
            total = window_sum if total is None else total + window_sum
            if self.training:
                state = tuple(h.detach() for h in state) if isinstance(state, tuple) else state.detach()
        final = (state[0] if isinstance(state, tuple) else state)[-1]
        mean = total / lengths.unsqueeze(-1).to(total.dtype)
        pooled = {"last": final, "max": running_max, "mean": mean}
        if self.pooling == "concat":
            return torch.cat([final, running_max, mean], dim=-1)
        return pooled[self.pooling]


@dataclass
class TextCNNConfig:
    """Kim (2014) CNN-rand: embedding 300, widths 3/4/5 × 100 maps, ReLU, max-over-time, dropout 0.5.

    Kim's l2 max-norm 3 on the output weights is a training option (``train.max_norm: 3``,
    ``train.max_norm_params: [head.weight]``), applied by the loop after each update.
    """

    name: str = "textcnn"
    vocab_size: int = 0
    num_classes: int = 0
    padding_idx: int = 0
    embed_dim: int = 300
    widths: list[int] = field(default_factory=lambda: [3, 4, 5])
    maps: int = 100
    dropout: float = 0.5
    embed_init: float | None = 0.25  # Kim: random vectors U(-0.25, 0.25); null keeps torch's N(0, 1)
    multichannel: bool = False  # Kim's CNN-multichannel: a second, frozen copy of the (pretrained) embedding


class TextCNN(nn.Module):
    """Kim's variants: CNN-rand (default), CNN-static (pretrained vectors, ``train.freeze: [embedding.weight]``),
    CNN-non-static (pretrained, fine-tuned) and CNN-multichannel (``multichannel: true``: every filter sees a
    fine-tuned and a frozen copy of the vectors, its two slices summed — a convolution over both channels)."""

    def __init__(self, cfg: TextCNNConfig):
        super().__init__()
        self.embedding = embedding(cfg.vocab_size, cfg.embed_dim, cfg.padding_idx, cfg.embed_init)
        self.static_embedding = None
        if cfg.multichannel:
            self.static_embedding = embedding(cfg.vocab_size, cfg.embed_dim, cfg.padding_idx, cfg.embed_init)
            self.static_embedding.weight.data.copy_(self.embedding.weight.data)
            self.static_embedding.weight.requires_grad_(False)
        channels = 2 if cfg.multichannel else 1
        self.conv = ConvMaxPool(cfg.embed_dim * channels, tuple(cfg.widths), cfg.maps)
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(self.conv.output_size, cfg.num_classes)

    def word_embedding(self) -> nn.Embedding:
        return self.embedding

    def vectors_loaded(self) -> None:
        """After pretrained vectors were copied into ``embedding``: the static channel starts from them too."""
        if self.static_embedding is not None:
            self.static_embedding.weight.data.copy_(self.embedding.weight.data)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embedding(ids)
        if self.static_embedding is not None:
            x = torch.cat([x, self.static_embedding(ids)], dim=-1)
        return x

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        lengths = lengths.clamp_min(1)
        mask = lengths_to_mask(lengths, ids.size(1))
        features = self.conv(self.embed(ids), lengths, mask)  # [B, maps · widths]
        return self.head(self.dropout(features))  # [B, C]


@dataclass
class RecurrentRegressorConfig:
    """A recurrent layer over real-valued inputs [B, T, input_size] → linear on the final state → [B, outputs]
    (the adding problem)."""

    name: str = "rnn_regressor"
    input_size: int = 2
    outputs: int = 1
    hidden_size: int = 128
    num_layers: int = 1
    cell: str = "lstm"  # lstm, gru, rnn
    forget_bias: float = 0.0


class RecurrentRegressor(nn.Module):
    def __init__(self, cfg: RecurrentRegressorConfig):
        super().__init__()
        if cfg.cell not in RECURRENT:
            raise ValueError(f"cell must be one of {', '.join(RECURRENT)}, got {cfg.cell!r}")
        extra = {"forget_bias": cfg.forget_bias} if cfg.cell == "lstm" else {}
        self.rnn = RECURRENT[cfg.cell](cfg.input_size, cfg.hidden_size, cfg.num_layers, batch_first=True, **extra)
        self.head = nn.Linear(cfg.hidden_size, cfg.outputs)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(inputs)  # [B, T, H]
        return self.head(out[:, -1])  # [B, outputs]
