"""Typed recipe configuration: dataclasses per concern, read from YAML, overridden by ``--set key=value``.

A recipe is a YAML mapping with four sections::

    task: classification
    data:  {dataset: mr, tokenizer: basic_english, ...}     -> DataConfig
    model: {name: rnn_classifier, hidden_size: 128, ...}    -> the model's own dataclass (models.registry)
    train: {epochs: 10, batch_size: 50, lr: 1e-3, ...}      -> TrainConfig

Every error names the field and the file it came from, e.g.
``recipes/mr.yaml: train.lr: expected a number, got 'fast'``.

This module imports nothing from seqlab.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A recipe field is missing, unknown or of the wrong type; the message names field and file."""


@dataclass
class DataConfig:
    """Where the examples come from and how text becomes token ids.

    Either ``dataset`` names a registry entry (``seqlab data list``), or ``train`` (and optionally
    ``dev``/``test``) name local files in ``format`` (tsv, csv, jsonl, folder = one file per class).
    Without a test file, fold ``fold`` of ``folds`` (seeded by ``split_seed``) is held out as test; without a
    dev file, ``dev_fraction`` of the remaining training examples is.
    """

    dataset: str | None = None
    train: str | None = None
    dev: str | None = None
    test: str | None = None
    format: str = "tsv"  # classification: tsv, csv, jsonl, folder; tagging: conll, conllu; seq2seq: also aligned
    text_field: str = "text"
    label_field: str = "label"
    label_set: str | None = None  # dataset-specific label choice, e.g. TREC "coarse" or "fine"
    tokenizer: str = "basic_english"
    lowercase: bool = True
    bpe_vocab_size: int = 8000
    min_freq: int = 1
    max_size: int | None = None
    max_length: int | None = None  # truncate longer texts (tokens); None keeps everything
    split_seed: int = 1234  # fixed split for datasets without an official one
    folds: int = 10  # datasets without a split: test = fold ``fold`` of ``folds`` (Kim 2014's 10-fold CV)
    fold: int = 0
    dev_fraction: float = 0.1  # held out of train when a dataset has no dev split
    limit: int | None = None  # keep the first N training examples (smoke tests); synthetic tasks: train size
    length: int = 100  # synthetic tasks (the adding problem): sequence length T
    tag_scheme: str = "bio"  # tagging: train on bio or bioes chunk tags (evaluation is always strict IOB2)
    tag_column: int = -1  # tagging, local CoNLL files: the column to predict
    feature_columns: list[int] = field(default_factory=list)  # tagging, CoNLL: extra input columns (e.g. POS: [1])
    vectors: str | None = None  # pretrained word vectors (GloVe / word2vec text) for the word embedding
    bptt: int = 35  # language models: tokens per truncated-BPTT window
    conditional: bool = False  # language models: one sentence per example, conditioned on its label
    target_tokenizer: str | None = None  # seq2seq: the target side's tokenizer (default: tokenizer)
    metric: str = "bleu"  # seq2seq: bleu (sacreBLEU + chrF) or g2p (word / phoneme error rates)
    beam: int = 1  # seq2seq evaluation: 1 = greedy, K > 1 = beam search
    max_ratio: float = 2.0  # seq2seq decoding: at most max_ratio × source length + 5 tokens
    image_height: int = 20  # captioning: images are scaled to this height (pixels)
    image_width: int = 72  # captioning: ... and padded (or cut) to this width
    digits: list[int] = field(default_factory=lambda: [2, 5])  # digits-captions: [min, max] digits per image


@dataclass
class TrainConfig:
    """The one training loop's settings (seqlab.training.loop)."""

    epochs: int = 10
    batch_size: int = 32
    eval_batch_size: int = 256
    optimizer: str = "adam"  # adam, adamw, sgd, adadelta
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.0
    schedule: str = "constant"  # constant, plateau, step, linear
    decay: float = 0.5  # factor for plateau/step schedules
    decay_every: int = 1  # epochs between step decays
    decay_after: int | None = None  # step schedule: epochs at the full rate before the first decay (default decay_every)
    warmup_steps: int = 0
    clip_norm: float | None = 5.0
    max_norm: float | None = None  # Kim 2014: renormalise rows of max_norm_params to this l2 norm
    max_norm_params: list[str] = field(default_factory=list)
    freeze: list[str] = field(default_factory=list)  # parameters kept fixed, e.g. [embedding.weight] (Kim's static)
    monitor: str = "accuracy"  # dev metric for early stopping and the best checkpoint
    monitor_mode: str = "max"
    patience: int | None = 3  # epochs without dev improvement before stopping; None never stops early
    bucket: bool = True  # length-bucketed batches
    seed: int = 1
    threads: int | None = None  # torch intra-op threads; None = all cores
    checkpoint_every: int | None = None  # steps between mid-epoch checkpoints; None = end of each epoch
    log_every: int = 50
    max_minutes: float | None = None  # training time budget: stop mid-epoch when spent, then evaluate and save


@dataclass
class Recipe:
    """A whole run: task name, data, model section (validated by the model registry) and training."""

    task: str = "classification"
    data: DataConfig = field(default_factory=DataConfig)
    model: dict[str, Any] = field(default_factory=dict)
    train: TrainConfig = field(default_factory=TrainConfig)
    source: str = "<recipe>"

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out.pop("source")
        return out


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check ``value`` against the annotation ``tp``; ints are accepted for floats, strings for numbers."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if errors else f"{where}: invalid value {value!r}")
    if origin is list:
        (item,) = typing.get_args(tp) or (Any,)
        if isinstance(value, (str, int, float)):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict or tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no"):
            return value.lower() in ("true", "yes")
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{where}: expected an integer, got {value!r}") from None
    if tp is float:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if tp is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return str(value)
    raise ConfigError(f"{where}: unsupported type {_type_name(tp)}")


def from_dict(cls: type, values: dict[str, Any] | None, section: str, source: str) -> Any:
    """Build dataclass ``cls`` from a mapping, naming ``source: section.field`` in every error."""
    values = values or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: {section}: expected a mapping, got {values!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(
            f"{source}: {section}.{unknown[0]}: unknown field (known: {', '.join(sorted(names))})"
        )
    kwargs = {}
    for name, value in values.items():
        kwargs[name] = _coerce(value, hints[name], f"{source}: {section}.{name}")
    return cls(**kwargs)


def apply_overrides(raw: dict[str, Any], overrides: list[str], source: str) -> dict[str, Any]:
    """Apply ``key.sub=value`` strings (values parsed as YAML) to a raw recipe mapping."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value, e.g. train.lr=0.001")
        key, text = item.split("=", 1)
        parts = key.strip().split(".")
        node = raw
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {item!r}: {part} is not a section")
        node[parts[-1]] = yaml.safe_load(text) if text.strip() else None
    return raw


def recipe_from_dict(raw: dict[str, Any], source: str = "<recipe>") -> Recipe:
    """Validate a raw mapping into a Recipe (the model section is validated by the model registry)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping with task, data, model, train")
    unknown = sorted(set(raw) - {"task", "data", "model", "train"})
    if unknown:
        raise ConfigError(f"{source}: {unknown[0]}: unknown section (known: data, model, task, train)")
    model = raw.get("model") or {}
    if not isinstance(model, dict) or "name" not in model:
        raise ConfigError(f"{source}: model.name: missing (e.g. rnn_classifier, textcnn, bow)")
    return Recipe(
        task=_coerce(raw.get("task", "classification"), str, f"{source}: task"),
        data=from_dict(DataConfig, raw.get("data"), "data", source),
        model=dict(model),
        train=from_dict(TrainConfig, raw.get("train"), "train", source),
        source=source,
    )


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Recipe:
    """Read a YAML recipe file and apply ``--set`` overrides."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such recipe file") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{line}: not valid YAML ({getattr(err, 'problem', err)})") from None
    return recipe_from_dict(apply_overrides(raw, overrides or [], str(path)), str(path))
