"""Text classification (N → 1): one label per text; loss = mean cross-entropy over the batch;
metrics = accuracy and macro F1 (plus per-class precision/recall/F1 in ``report``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ... import metrics
from ...config import ConfigError, DataConfig
from ...data.batching import bucket_batches, device_of, pad, to_device
from ...data.datasets import Splits, load_splits
from ...data.splits import _shuffled, resolve_splits
from ...data.readers import TextExample, read_examples
from ...data.tokenizers import Tokenizer
from ...data.vocab import Vocab
from ..base import Task, checked_vocab
from ..vocab_from import borrowed_vocab
from .codec import ClassificationCodec


@dataclass
class EncodedSplit:
    texts: list[str]
    ids: list[list[int]]
    labels: list[int]  # -1 where the example has no label

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class ClassificationBatch:
    ids: torch.Tensor  # [B, T]
    lengths: torch.Tensor  # [B]
    labels: torch.Tensor  # [B]
    index: list[int]  # positions in the split

    @property
    def n_tokens(self) -> int:
        return int(self.lengths.sum())


@dataclass
class ClassificationData(DataConfig):
    """``data:`` of a classification recipe: the shared fields, a fixed per-label sample, a borrowed vocabulary."""

    per_class: int | None = None  # train on a fixed sample of N examples of each label (seeded by split_seed)
    vocab_from: str | None = None  # a run or model directory whose tokenizer and vocabulary to use (e.g. the LM's)

    def check(self) -> tuple[str, str] | None:
        if self.per_class is not None and self.per_class < 1:
            return "per_class", f"must be a positive number of examples, got {self.per_class}"
        return super().check()


def per_class_sample(examples: list[TextExample], n: int, seed: int) -> list[TextExample]:
    """The first ``n`` examples of each label after one seeded shuffle, in that shuffled order."""
    counts: dict[str, int] = {}
    kept = []
    for ex in _shuffled(examples, seed + 7):
        if counts.get(ex.label, 0) < n:
            counts[ex.label] = counts.get(ex.label, 0) + 1
            kept.append(ex)
    return kept


def read_splits(cfg: DataConfig, source: str = "<recipe>") -> Splits:
    """Registry dataset or local files (``data.splits``: a missing test file is fold ``data.fold``, a missing dev
    file ``data.dev_fraction`` of train), then ``data.per_class``'s fixed sample of train."""
    splits = _read_splits(cfg, source)
    if isinstance(cfg, ClassificationData) and cfg.per_class:
        train = per_class_sample(splits.train, cfg.per_class, cfg.split_seed)
        splits = replace(splits, train=train).with_dropped("train", f"beyond data.per_class {cfg.per_class}",
                                                           len(splits.train) - len(train))
    return splits


def _read_splits(cfg: DataConfig, source: str = "<recipe>") -> Splits:
    if cfg.dataset:
        return load_splits(cfg.dataset, cfg)
    read = lambda p: read_examples(p, cfg.format, cfg.text_field, cfg.label_field, cfg.encoding)  # noqa: E731
    splits = resolve_splits(cfg, read, source, test="fold", dev="holdout", what="labelled texts")
    return replace(splits, labels=sorted({ex.label for ex in splits.train}))


class ClassificationTask(Task):
    name = "classification"
    data_config = ClassificationData
    ensembles = True
    explainable = True
    scores_classes = True

    def __init__(self, tokenizer: Tokenizer, vocab: Vocab, labels: list[str], max_length: int | None = None):
        self.tokenizer = tokenizer
        self.vocab = vocab
        self.labels = list(labels)
        self.label_ids = {name: i for i, name in enumerate(self.labels)}
        self.max_length = max_length
        self.codec = ClassificationCodec(tokenizer, vocab, self.labels, max_length)  # text ↔ ids ↔ JSON, torch-free

    def output_labels(self) -> list[str] | None:
        return self.labels

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_recipe(cls, cfg: DataConfig, source: str = "<recipe>") -> tuple["ClassificationTask", Splits]:
        splits = read_splits(cfg, source).limited(cfg.limit, cfg.eval_limit)
        train = splits.train
        if cfg.vocab_from:
            tokenizer, vocab = borrowed_vocab(cfg, cfg.vocab_from, source)
        elif cfg.tokenizer == "bpe":
            tokenizer = Tokenizer.train_bpe((ex.text for ex in train), cfg.bpe_vocab_size, cfg.lowercase)
        else:
            tokenizer = Tokenizer.from_config(cfg.tokenizer, cfg.lowercase, cfg.user_dict)
        if not cfg.vocab_from:
            vocab = checked_vocab(Vocab.build((tokenizer(ex.text) for ex in train), cfg.min_freq, cfg.max_size),
                                  len(train), cfg, source)
        seen = sorted({ex.label for ex in train})
        if len(seen) < 2:
            raise ConfigError(f"{source}: data.train: all {len(train):,} training examples have the label {seen[0]!r}; "
                              "a classifier needs at least two labels")
        task = cls(tokenizer, vocab, splits.labels, cfg.max_length)
        return task, splits

    @classmethod
    def from_files(cls, files: dict[str, Any], recipe: dict[str, Any]) -> "ClassificationTask":
        max_length = (recipe.get("data") or {}).get("max_length")
        return cls(Tokenizer.from_dict(files["tokenizer"]), Vocab.from_dict(files["vocab"]), files["labels"], max_length)

    @classmethod
    def load_split(cls, cfg: DataConfig, split: str, source: str = "<recipe>") -> list[TextExample]:
        return read_splits(cfg, source).limited(cfg.limit, cfg.eval_limit).get(split)  # the run's own examples

    def files(self) -> dict[str, Any]:
        return {"tokenizer": self.tokenizer.to_dict(), "vocab": self.vocab.to_dict(), "labels": self.labels}

    def model_section(self, section: dict[str, Any]) -> dict[str, Any]:
        return {**section, "vocab_size": len(self.vocab), "num_classes": len(self.labels),
                "padding_idx": self.vocab.pad_id}

    @classmethod
    def score_export(cls, predictor: Any, examples: list, data: dict[str, Any], batch_size: int,
                     beam: int | None = None) -> dict[str, Any]:
        return predictor.evaluate([ex.text for ex in examples], [ex.label for ex in examples])

    def onnx_graphs(self, model: nn.Module, name: str) -> dict[str, Any]:
        """``tasks/classification/onnx.py``'s graphs (imported here: onnx only when exporting)."""
        from ...onnx_graph import ONNX_FILE
        from .onnx import graph

        return {ONNX_FILE: graph(model, name)}

    def export_metadata(self, model: nn.Module) -> dict[str, Any]:
        return {"max_length": self.max_length}

    def gradient_inputs(self, model: nn.Module, text: str | None, length: int, batch: int,
                        seed: int) -> torch.Tensor:
        """``text``'s tokens through the model's word embedding, [1, T, d]."""
        if text is None:
            raise ValueError(f"give --text for a {self.name} model")
        return model.word_embedding()(torch.tensor([self.encode_text(text)])).detach()

    # ---------------------------------------------------------------- data
    def encode_text(self, text: str) -> list[int]:
        """Token ids, truncated to ``max_length``; an empty text becomes one ``<unk>`` (``codec.ids``)."""
        return self.codec.ids(text)

    def truncated(self, examples: list[TextExample]) -> dict[str, int]:
        if not self.max_length:
            return {}
        cut = sum(self.codec.truncated(ex.text) for ex in examples)
        return {f"longer than data.max_length ({self.max_length} tokens)": cut} if cut else {}

    def encode(self, examples: list[TextExample]) -> EncodedSplit:
        labels = []
        for ex in examples:
            if ex.label is None:
                labels.append(-1)
            elif ex.label in self.label_ids:
                labels.append(self.label_ids[ex.label])
            else:
                raise ValueError(f"label {ex.label!r} was not seen in training (known: {', '.join(self.labels)})")
        return EncodedSplit([ex.text for ex in examples], [self.encode_text(ex.text) for ex in examples], labels)

    def batches(self, split: EncodedSplit, batch_size: int, generator: torch.Generator | None = None,
                shuffle: bool = False, bucket: bool = True) -> Iterator[ClassificationBatch]:
        lengths = [len(s) for s in split.ids]
        for index in bucket_batches(lengths, batch_size, generator, shuffle, bucket):
            ids, lens = pad([split.ids[i] for i in index], self.vocab.pad_id)
            yield ClassificationBatch(ids, lens, torch.tensor([split.labels[i] for i in index]), index)

    def batch_lengths(self, split: EncodedSplit) -> list[int]:
        return [len(s) for s in split.ids]

    # ---------------------------------------------------------------- model
    def loss(self, model: nn.Module, batch: ClassificationBatch) -> torch.Tensor:
        return F.cross_entropy(model(batch.ids, batch.lengths), batch.labels)

    @torch.no_grad()
    def probabilities(self, model: nn.Module, split: EncodedSplit, batch_size: int = 256) -> torch.Tensor:
        """Class probabilities [N, C] in split order."""
        model.eval()
        out = torch.zeros(len(split), len(self.labels))
        device = device_of(model)
        for batch in self.batches(split, batch_size, shuffle=False, bucket=True):
            out[batch.index] = model(batch.ids.to(device), batch.lengths.to(device)).float().softmax(-1).cpu()
        return out

    def predict(self, model: nn.Module, batch: ClassificationBatch) -> list[int]:
        with torch.no_grad():
            batch = to_device(batch, device_of(model))
            return model(batch.ids, batch.lengths).argmax(-1).tolist()

    def evaluate(self, model: nn.Module, split: EncodedSplit, batch_size: int = 256) -> dict[str, Any]:
        probs = self.probabilities(model, split, batch_size)
        report = metrics.classification_report(split.labels, probs.argmax(-1).tolist(), self.labels)
        gold = probs[torch.arange(len(split)), torch.as_tensor(split.labels, dtype=torch.long)] if len(split) else probs[:0, 0]
        loss = float(-gold.clamp_min(1e-12).log().mean()) if len(split) else float("nan")  # the training loss, on this split
        return {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"], "loss": loss, "n": len(split)}

    # ---------------------------------------------------------------- inference
    def input_tokens(self, text: str) -> list[str]:
        return self.codec.tokens(text)

    @torch.no_grad()
    def infer(self, model: nn.Module, texts: list[str], options: dict[str, Any]) -> list[dict[str, Any]]:
        """``{"text", "label", "probability", "probabilities", "truncated"}`` per text (``truncated``: longer than
        the recipe's ``data.max_length``, read only up to it, as in training)."""
        model.eval()
        probs = self.probabilities(model, self.encode([TextExample(t) for t in texts]))
        return [self.codec.output(text, row) for text, row in zip(texts, probs.tolist())]

    def explain_inputs(self, text: str) -> dict[str, Any]:
        """What ``seqlab.evaluation.explain`` needs for one text: tokens, ids, labels, the padding id."""
        words, ids = self.tokenizer(text), self.encode_text(text)
        tokens = words if len(words) == len(ids) else self.vocab.decode(ids)  # truncated or empty: what the model saw
        return {"tokens": tokens, "ids": ids, "labels": self.labels, "pad_id": self.vocab.pad_id}

    def fit_closed_form(self, model: nn.Module, split: EncodedSplit) -> dict[str, Any] | None:
        """Models fitted without gradient descent (the BoW baseline) are fitted here; others return None."""
        fit = getattr(model, "fit_closed_form", None)
        return fit(self.vocab.itos, split.ids, split.labels) if fit is not None else None
