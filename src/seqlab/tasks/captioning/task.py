"""Image captioning (image → sequence): an image in, its caption out, with attention over image regions.

Examples are ``data.images.ImageCaption``: the registry's ``digits-captions`` (composed from scikit-learn's
digits, no download), or a TSV of ``image<TAB>caption`` rows per split (``data.train`` / ``dev`` / ``test``),
images scaled to ``data.image_height`` × ``data.image_width``. Captions are tokenised by ``data.tokenizer``
and get their own vocabulary.

Training: cross-entropy over ``y₁ … y_n <eos>`` given ``<bos> y₁ … y_n``, plus the doubly stochastic
attention regulariser of Xu et al. (2015), λ Σ_i (1 − Σ_t α_ti)² over the real regions i and real steps t,
averaged over the batch (λ = the model's ``doubly_stochastic``).

Evaluation decodes (greedy, or beam search with ``data.beam`` > 1; at most 2 × the longest training caption
+ 2 tokens) and reports exact-match sequence ``accuracy``, token error rate ``ter`` (word-level edit distance
over reference length) and sacreBLEU ``bleu``. On composed digits with attention it also reports
``attention_on_digit``: over the correctly captioned images, the share of words whose attention peak (the
grid column holding the most attention, its centre in pixels) falls inside that word's own digit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ... import metrics
from ...config import DataConfig
from ...data.batching import IGNORE_INDEX, bucket_batches, device_of, pad, teacher_forcing
from ...data.datasets import Splits, load_splits
from ...data.splits import resolve_splits
from ...data.images import ImageCaption, read_image_captions
from ...data.tokenizers import Tokenizer
from ...data.vocab import Vocab
from ...decoding import beam_search
from ..base import Task, checked_vocab


@dataclass
class ImageSplit:
    examples: list[ImageCaption]
    images: torch.Tensor  # [N, 1, H, W]
    widths: torch.Tensor  # [N]
    tgt_ids: list[list[int]]

    def __len__(self) -> int:
        return len(self.examples)


@dataclass
class ImageBatch:
    images: torch.Tensor  # [B, 1, H, W]
    widths: torch.Tensor  # [B]
    tgt_in: torch.Tensor  # [B, T] <bos> y₁ … y_n
    tgt_out: torch.Tensor  # [B, T] y₁ … y_n <eos>, IGNORE_INDEX on padding
    index: list[int]

    @property
    def n_tokens(self) -> int:
        return int((self.tgt_out != IGNORE_INDEX).sum())


def read_caption_splits(cfg: DataConfig, source: str = "<recipe>") -> Splits:
    if cfg.dataset:
        return load_splits(cfg.dataset, cfg)
    read = lambda p: read_image_captions(p, cfg.image_height, cfg.image_width)  # noqa: E731
    return resolve_splits(cfg, read, source, test="required", dev="required", what="image<TAB>caption rows")


@dataclass
class CaptioningData(DataConfig):
    """``data:`` of a captioning recipe: the shared fields, the image size and the composed digits' count."""

    image_height: int = 20  # images are scaled to this height (pixels)
    image_width: int = 72  # ... and padded (or cut) to this width
    digits: list[int] = field(default_factory=lambda: [2, 5])  # digits-captions: [min, max] digits per image
    beam: int = 1  # evaluation: 1 = greedy, K > 1 = beam search

    def check(self) -> tuple[str, str] | None:
        if len(self.digits) != 2 or self.digits[0] > self.digits[1]:
            return "digits", f"give [min, max] with min ≤ max, got {self.digits}"
        return super().check()


class CaptioningTask(Task):
    name = "captioning"
    data_config = CaptioningData
    captions_images = True

    def __init__(self, tokenizer: Tokenizer, vocab: Vocab, image_size: tuple[int, int], max_len: int, beam: int = 1):
        self.tokenizer, self.vocab = tokenizer, vocab
        self.image_size, self.max_len, self.beam = tuple(image_size), max_len, beam

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_recipe(cls, cfg: DataConfig, source: str = "<recipe>") -> tuple["CaptioningTask", Splits]:
        splits = read_caption_splits(cfg, source).limited(cfg.limit, cfg.eval_limit)
        train = splits.train
        tokenizer = Tokenizer.from_config(cfg.tokenizer, cfg.lowercase, cfg.user_dict)
        vocab = checked_vocab(Vocab.build((tokenizer(ex.caption) for ex in train), cfg.min_freq, cfg.max_size),
                              len(train), cfg, source, "captions")
        longest = max((len(tokenizer(ex.caption)) for ex in train), default=1)
        task = cls(tokenizer, vocab, (cfg.image_height, cfg.image_width), 2 * longest + 2, cfg.beam)
        return task, replace(splits, labels=[])

    @classmethod
    def from_files(cls, files: dict[str, Any], recipe: dict[str, Any]) -> "CaptioningTask":
        c = files["captioning"]
        return cls(Tokenizer.from_dict(c["tokenizer"]), Vocab.from_dict(c["vocab"]), c["image_size"], c["max_len"],
                   c["beam"])

    @classmethod
    def load_split(cls, cfg: DataConfig, split: str, source: str = "<recipe>") -> list[ImageCaption]:
        return read_caption_splits(cfg, source).limited(cfg.limit, cfg.eval_limit).get(split)  # the run's own examples

    def files(self) -> dict[str, Any]:
        return {"captioning": {"tokenizer": self.tokenizer.to_dict(), "vocab": self.vocab.to_dict(),
                               "image_size": list(self.image_size), "max_len": self.max_len, "beam": self.beam}}

    def model_section(self, section: dict[str, Any]) -> dict[str, Any]:
        return {**section, "vocab_size": len(self.vocab), "padding_idx": self.vocab.pad_id,
                "image_height": self.image_size[0], "image_width": self.image_size[1]}

    # ---------------------------------------------------------------- data
    def encode(self, examples: list[ImageCaption]) -> ImageSplit:
        for ex in examples:
            if ex.image.shape != self.image_size:
                raise ValueError(f"{ex.source}: image of {ex.image.shape[0]} × {ex.image.shape[1]} pixels; this model "
                                 f"reads {self.image_size[0]} × {self.image_size[1]}")
        images = torch.from_numpy(np.stack([ex.image for ex in examples])).unsqueeze(1) if examples else \
            torch.zeros(0, 1, *self.image_size)
        return ImageSplit(examples, images, torch.tensor([ex.width for ex in examples], dtype=torch.long),
                          [self.vocab.encode(self.tokenizer(ex.caption)) for ex in examples])

    def batch_lengths(self, split: ImageSplit) -> list[int]:
        return [len(t) + 1 for t in split.tgt_ids]

    def batches(self, split: ImageSplit, batch_size: int, generator: torch.Generator | None = None,
                shuffle: bool = False, bucket: bool = True) -> Iterator[ImageBatch]:
        v = self.vocab
        for index in bucket_batches(self.batch_lengths(split), batch_size, generator, shuffle, bucket):
            tgt_in, tgt_out = teacher_forcing([split.tgt_ids[i] for i in index], v.pad_id, v.bos_id, v.eos_id)
            rows = torch.tensor(index)
            yield ImageBatch(split.images.index_select(0, rows), split.widths.index_select(0, rows), tgt_in, tgt_out, index)

    # ---------------------------------------------------------------- model
    def loss_count(self, model: nn.Module, batch) -> int:
        return batch.n_tokens  # the cross-entropy is a mean over caption tokens (the doubly stochastic term over images)

    def loss(self, model: nn.Module, batch: ImageBatch) -> torch.Tensor:
        logits, alpha = model(batch.images, batch.widths, batch.tgt_in)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), batch.tgt_out.reshape(-1), ignore_index=IGNORE_INDEX)
        lam = getattr(model.cfg, "doubly_stochastic", 0.0)
        if lam and alpha.numel():
            steps = (batch.tgt_out != IGNORE_INDEX).unsqueeze(2).to(alpha.dtype)  # [B, T, 1]
            regions = model.encoder.mask(batch.widths).to(alpha.dtype)  # [B, R]
            coverage = (alpha * steps).sum(1)  # Σ_t α_ti  [B, R]
            loss = loss + lam * (((1.0 - coverage) ** 2) * regions).sum(1).mean()
        return loss

    @torch.no_grad()
    def decode(self, model: nn.Module, images: torch.Tensor, widths: torch.Tensor, beam: int | None = None,
               n_best: int = 1, penalty: str = "average"):
        """Hypotheses (``decoding.Hypothesis``, best first) per image."""
        model.eval()
        images, widths = images.to(device_of(model)), widths.to(device_of(model))
        state = model.start(images.size(0), (images, widths))
        prompt = torch.full((images.size(0), 1), self.vocab.bos_id, device=images.device)
        return beam_search(model, state, prompt, beam or self.beam, self.vocab.eos_id, self.max_len, penalty,
                           n_best=n_best)

    @torch.no_grad()
    def attention(self, model: nn.Module, images: torch.Tensor, widths: torch.Tensor,
                  captions: list[list[int]]) -> list[torch.Tensor]:
        """α [n_i + 1, rows, cols] for each image reading its caption's ids (and ``<eos>``), teacher-forced."""
        model.eval()
        v = self.vocab
        tgt_in, _ = pad([[v.bos_id, *c] for c in captions], v.pad_id)
        device = device_of(model)
        _, alpha = model(images.to(device), widths.to(device), tgt_in.to(device))
        alpha = alpha.cpu()
        rows, cols = model.encoder.grid
        return [alpha[i, : len(c) + 1].reshape(-1, rows, cols) for i, c in enumerate(captions)]

    def attention_figure(self, model: nn.Module, image: torch.Tensor, width: torch.Tensor,
                         caption: list[int]) -> tuple[list[str], torch.Tensor, int]:
        """What ``seqlab caption --png`` draws for one image [1, 1, H, W] and its caption's ids: the words (and
        ``<eos>``), α [n + 1, rows, cols] and the pixels per grid column; a ValueError for a model without
        attention (``model.attention: none``)."""
        if not model.soft:
            raise ValueError("--png: this model has no attention (attention: none)")
        (alpha,) = self.attention(model, image, width, [caption])
        return [self.vocab.itos[i] for i in caption] + ["<eos>"], alpha, model.encoder.stride

    def detokenize(self, ids: list[int]) -> str:
        return " ".join(self.vocab.itos[i] for i in ids)

    def predict(self, model: nn.Module, batch: ImageBatch) -> list[str]:
        return [self.detokenize(h[0].tokens) for h in self.decode(model, batch.images, batch.widths)]

    def evaluate(self, model: nn.Module, split: ImageSplit, batch_size: int = 64) -> dict[str, Any]:
        predicted: list[list[int]] = [[] for _ in range(len(split))]
        for batch in self.batches(split, batch_size):
            for i, hyps in zip(batch.index, self.decode(model, batch.images, batch.widths)):
                predicted[i] = hyps[0].tokens
        hypotheses = [self.detokenize(p) for p in predicted]
        references = [" ".join(self.tokenizer(ex.caption)) for ex in split.examples]
        scores = {"accuracy": metrics.accuracy(references, hypotheses),
                  "ter": metrics.token_error_rate([r.split() for r in references], [h.split() for h in hypotheses]),
                  **metrics.corpus_bleu(hypotheses, references)}
        if getattr(model, "soft", False) and all(ex.boxes for ex in split.examples):
            scores["attention_on_digit"] = self.attention_on_digit(model, split, predicted, references, hypotheses,
                                                                   batch_size)
        return {**scores, "n": len(split), "beam": self.beam}

    def attention_on_digit(self, model: nn.Module, split: ImageSplit, predicted: list[list[int]],
                           references: list[str], hypotheses: list[str], batch_size: int = 64) -> float:
        """Share of words, over the correctly captioned images, whose attention peak lies on their own digit."""
        right = [i for i, (r, h) in enumerate(zip(references, hypotheses)) if r == h]
        stride = model.encoder.stride
        hits = total = 0
        for start in range(0, len(right), batch_size):
            rows = right[start:start + batch_size]
            index = torch.tensor(rows)
            maps = self.attention(model, split.images.index_select(0, index), split.widths.index_select(0, index),
                                  [predicted[i] for i in rows])
            for i, alpha in zip(rows, maps):
                for (x0, x1), word_alpha in zip(split.examples[i].boxes, alpha):
                    column = int(word_alpha.sum(0).argmax())  # the most-attended column of the grid
                    centre = (column + 0.5) * stride
                    hits += x0 <= centre < x1
                    total += 1
        return hits / total if total else float("nan")
