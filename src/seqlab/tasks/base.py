"""The Task contract that the training loop, evaluation and serving are written against.

A task is built from a recipe (``Task.from_recipe``, which reads data and builds the vocabulary) or from
a saved artifact's JSON files (``Task.from_files``). Then:

* ``load_split(data_config, split)`` → raw examples of one split (evaluation re-reads data this way);
* ``encode(examples)`` → an encoded split, ``batches(split, batch_size, generator, shuffle, bucket)`` →
  batches, each with ``n_tokens``;
* ``loss(model, batch)`` → a scalar tensor (mean over the batch's units: examples, tokens…);
* ``predict(model, batch)`` → one prediction per example;
* ``evaluate(model, split, batch_size)`` → a dict of metrics (higher-is-better names documented by task);
* ``files()`` → JSON-serialisable state saved in the artifact next to the weights;
* ``fit_closed_form(model, split)`` → a fit report for models fitted without gradient descent, else None.

Inference (``seqlab.inference``, the CLI's commands and ``seqlab serve`` all go through it):

* ``infer_options`` — the options a request may give, each an ``Option`` (type, default, allowed range);
* ``input_tokens(text)`` → the tokens the model will read, for the per-input length bound;
* ``infer(model, texts, options)`` → one JSON-serialisable dict per text, in order; ``options`` already
  checked by ``check_options``. A task without text input keeps the default, which refuses.
"""

from __future__ import annotations

import dataclasses

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any, ClassVar

import torch
from torch import nn

from ..config import ConfigError, DataConfig
from ..options import Option


def checked_vocab(vocab: Any, n_texts: int, cfg: Any, source: str, what: str = "training texts") -> Any:
    """``vocab`` unless it holds no token beyond the specials: then a ConfigError that says why."""
    from ..data.vocab import SPECIALS

    if n_texts == 0:
        raise ConfigError(f"{source}: data.train: no training examples")
    if len(vocab) <= len(SPECIALS):
        raise ConfigError(f"{source}: data: the vocabulary is empty: no token of the {n_texts:,} {what} occurs "
                          f"data.min_freq ({cfg.min_freq}) times or more (are the texts empty?)")
    return vocab


class Task(ABC):
    name: ClassVar[str]
    data_config: ClassVar[type] = DataConfig  # the recipe's data section for this task (seqlab.config)
    infer_options: ClassVar[dict[str, Option]] = {}
    ensembles: ClassVar[bool] = False  # its models predict through forward's last dimension or the decoder contract,
    # so models.ensemble.Ensemble of several is one (`seqlab evaluate --ensemble`)
    empty_input_ok: ClassVar[bool] = False  # True where an empty text means something (a language model's prompt)
    paired_texts: ClassVar[bool] = False  # True where an example's "label" is a target text, not a class (seq2seq)
    # optional capabilities, declared here with their defaults; callers ask these, never hasattr:
    explainable: ClassVar[bool] = False  # explain_inputs(text) feeds integrated gradients (classification)
    streams: ClassVar[bool] = False  # infer_stream(model, prompt, options, on_text) (language models)
    scores_classes: ClassVar[bool] = False  # probabilities(model, split, batch_size) over labels (classification)
    captions_images: ClassVar[bool] = False  # decode(model, images, widths, beam) and attention(…) (captioning)
    lends_encoder: ClassVar[bool] = False  # its models' embedding and recurrent layers start another model's
    # (``model.encoder_from``; language models)
    vocab: Any = None  # the input vocabulary (data.vocab.Vocab), where the task has one
    beam: int | None = None  # the default beam width of a task that decodes with beam search

    def output_labels(self) -> list[str] | None:
        """The classes or tags a model of this task outputs, where it has a fixed set."""
        return None

    def word_form(self) -> dict[str, Any]:
        """How this task's vocabulary words are made from text (tokenizer name, lowercase): what a language model's
        words must match for ``model.encoder_from``. The tokenizer's own, where it makes the words."""
        return self.tokenizer.to_dict()

    def explain_inputs(self, text: str) -> dict[str, Any]:
        raise ValueError(f"{self.name} models cannot be explained (classifiers can)")

    def infer_stream(self, model: nn.Module, prompt: str, options: dict[str, Any], on_text: Any = None) -> dict[str, Any]:
        raise ValueError(f"a {self.name} model does not stream; use predict")

    @classmethod
    @abstractmethod
    def load_split(cls, cfg: Any, split: str, source: str = "<recipe>") -> Any:
        """The raw examples of one split ("train", "dev", "test") of a recipe's data section."""
        ...

    @classmethod
    def read_labelled_file(cls, cfg: Any, path: str, data_format: str | None = None) -> Any:
        """The examples of a labelled file given to ``seqlab evaluate --data``: a text file (tsv, csv, jsonl,
        folder; ``data_format`` or guessed from the name) with the recipe's columns and encoding."""
        from ..data.readers import guess_format, read_examples

        return read_examples(path, data_format or guess_format(path), cfg.text_field, cfg.label_field, cfg.encoding)

    @abstractmethod
    def encode(self, examples: list) -> Any:
        ...

    @abstractmethod
    def batches(self, split: Any, batch_size: int, generator: torch.Generator | None = None,
                shuffle: bool = False, bucket: bool = True) -> Iterator[Any]:
        ...

    @abstractmethod
    def batch_lengths(self, split: Any) -> list[int]:
        """Length in tokens of each example, for bucketing and the pad-fraction report."""
        ...

    @abstractmethod
    def model_section(self, section: dict[str, Any]) -> dict[str, Any]:
        """The recipe's model mapping with the data-dependent sizes filled in."""
        ...

    @abstractmethod
    def loss(self, model: nn.Module, batch: Any) -> torch.Tensor:
        ...

    @abstractmethod
    def predict(self, model: nn.Module, batch: Any) -> list:
        ...

    @abstractmethod
    def evaluate(self, model: nn.Module, split: Any, batch_size: int = 256) -> dict[str, Any]:
        ...

    @abstractmethod
    def files(self) -> dict[str, Any]:
        ...

    def loss_count(self, model: nn.Module, batch: Any) -> int:
        """How many terms ``loss`` averages over for this batch: its examples by default (the first dimension of
        its first tensor); tasks whose loss is a mean over tokens return their token count. Data parallelism
        weights each rank's mean by this, so the ranks together take the global batch's mean."""
        for f in dataclasses.fields(batch):
            value = getattr(batch, f.name)
            if torch.is_tensor(value):
                return int(value.size(0))
        raise TypeError(f"{type(batch).__name__}: no tensor field to count examples by; override Task.loss_count")

    def training_state(self) -> dict[str, torch.Tensor]:
        """Tensors the task carries from one training batch to the next (a language model's hidden state across
        BPTT windows). A mid-epoch checkpoint saves them and ``restore_training_state`` puts them back, so that a
        resumed run continues exactly; none by default."""
        return {}

    def restore_training_state(self, tensors: dict[str, torch.Tensor]) -> None:
        """Take back what ``training_state`` returned (on the model's device); nothing by default."""

    def truncated(self, examples: list) -> dict[str, int]:
        """Examples that will be used cut short, by why (``{"longer than data.max_length": 12}``); none by default."""
        return {}

    def input_tokens(self, text: str) -> list[str]:
        """The tokens the model reads from ``text`` (bounded per input by ``seqlab.inference``)."""
        raise ValueError(f"a {self.name} model takes no text input")

    def text_input_problem(self) -> str | None:
        """Why this model cannot run on plain text (``seqlab serve`` refuses to start with it), or None."""
        return None

    @classmethod
    def score_export(cls, predictor: Any, examples: list, data: dict[str, Any], batch_size: int,
                     beam: int | None = None) -> dict[str, Any]:
        """An ONNX export's metrics on ``examples`` (``seqlab evaluate EXPORT``), as ``evaluate`` gives the trained
        model's: ``predictor`` is the export's (``seqlab.serving.onnx_predictor``), ``data`` its recipe's section."""
        raise ValueError(f"{cls.name} exports cannot be evaluated")

    def export_metadata(self, model: nn.Module) -> dict[str, Any] | None:
        """What an ONNX export's numpy runtime needs beyond the graph and ``files()`` (written into export.json),
        or None where the task's models do not export."""
        return None

    def onnx_graphs(self, model: nn.Module, name: str) -> dict[str, Any]:
        """The family's ONNX graphs of ``model`` (``name``: its registry name), by file name (``tasks/<family>/
        onnx.py``); a ValueError where the family or the model does not export."""
        raise ValueError(f"ONNX export covers classifiers, taggers, language models and seq2seq models; this model "
                         f"is {self.name}")

    def gradient_inputs(self, model: nn.Module, text: str | None, length: int, batch: int,
                        seed: int) -> torch.Tensor:
        """What the model's first recurrent layer reads, [B, T, features], for ``seqlab diagnose gradients``:
        a text's embedded tokens where the task reads text (``text``), else inputs of its own kind."""
        raise ValueError(f"a {self.name} model has no gradient diagnostics (adding models and text classifiers do)")

    def infer(self, model: nn.Module, texts: list[str], options: dict[str, Any]) -> list[dict[str, Any]]:
        """One JSON-serialisable result per text, in order (module docstring)."""
        raise ValueError(f"a {self.name} model takes no text input; use its own command (seqlab --help)")

    def fit_closed_form(self, model: nn.Module, split: Any) -> dict[str, Any] | None:
        """Fit a model that needs no gradient descent (returning its fit report), or return None."""
        return None
