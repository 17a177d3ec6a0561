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
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable
from typing import Any

import yaml


class ConfigError(ValueError):
    """A recipe field is missing, unknown or of the wrong type; the message names field and file."""


MAX_RECIPE_BYTES = 1 << 20  # a recipe is a page of YAML; a larger file is refused before it is parsed
MAX_RECIPE_NODES = 20_000  # values after YAML aliases are expanded (a "billion laughs" file expands to 10⁹)
OPTIMIZERS = ("adam", "adamw", "sgd", "adadelta")
SCHEDULES = ("constant", "step", "plateau", "linear", "slanted")


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages about values that may be huge."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _positive(v):
    return None if v > 0 else "must be greater than 0"


def _non_negative(v):
    return None if v >= 0 else "must be 0 or more"


def _fraction(v):  # a probability that must leave something: dropout, dev share, momentum
    return None if 0 <= v < 1 else "must be in [0, 1)"


def _open_fraction(v):
    return None if 0 < v < 1 else "must be in (0, 1)"


def _decay(v):
    return None if 0 < v <= 1 else "must be in (0, 1]"


def _one_of(*allowed):
    def check(v):
        return None if v in allowed else f"must be one of {', '.join(allowed)}"
    return check


#: The tokenizers ``data.tokenizer`` may name (``seqlab.data.tokenizers``).
TOKENIZERS = ("basic_english", "whitespace", "split", "character", "kim", "treebank", "bpe", "jieba")

#: Range and choice checks by field name, for every section (data, train and the models' own dataclasses).
#: None always passes (it means "unset"); lists are checked item by item.
RULES: dict[str, Any] = {
    **{name: _positive for name in (
        "epochs", "batch_size", "eval_batch_size", "lr", "min_freq", "max_size", "max_length", "limit", "eval_limit", "length",
        "bptt", "folds", "bpe_vocab_size", "beam", "max_ratio", "clip_norm", "max_norm", "decay_every", "threads",
        "checkpoint_every", "max_minutes", "image_height", "image_width", "digits",
        "hidden_size", "embed_dim", "num_layers", "widths", "maps", "C", "max_iter", "input_size", "outputs",
        "char_embed_dim", "char_hidden", "feature_dim", "condition_dim", "d_model", "heads", "layers", "d_ff",
        "channels")},
    **{name: _non_negative for name in (
        "weight_decay", "warmup_steps", "patience", "log_every", "keep_epochs", "decay_after", "fold", "doubly_stochastic",
        "init_range", "embed_init", "lsa_components", "num_conditions")},
    **{name: _fraction for name in (
        "dropout", "embed_dropout", "word_dropout", "dropout_input", "dropout_hidden", "weight_drop", "momentum",
        "label_smoothing")},
    "dev_fraction": _open_fraction,
    "decay": _decay,
    "teacher_forcing": lambda v: None if 0 <= v <= 1 else "must be in [0, 1]",
    "optimizer": _one_of(*OPTIMIZERS),
    "schedule": _one_of(*SCHEDULES),
    "unfreeze": _one_of("all", "gradual"),
    "lr_group_decay": lambda v: None if v >= 1 else "must be ≥ 1 (ULMFiT: 2.6)",
    "slanted_ratio": lambda v: None if v >= 1 else "must be ≥ 1 (ULMFiT: 32)",
    "slanted_fraction": lambda v: None if 0 < v < 1 else "must be in (0, 1) (ULMFiT: 0.1)",
    "monitor_mode": _one_of("min", "max"),
    "precision": _one_of("fp32", "fp64", "bf16"),
    "device": _one_of("auto", "cpu", "cuda", "mps"),
    "log": _one_of("jsonl", "csv", "tensorboard"),  # each item of train.log
    "metric": _one_of("bleu", "g2p"),
    "tokenizer": _one_of(*TOKENIZERS),
    "cell": _one_of("lstm", "gru", "rnn"),  # a model that takes fewer narrows it in its config's check()
    "pooling": _one_of("last", "mean", "max", "attention", "concat"),
    "target_tokenizer": _one_of(*TOKENIZERS),
    "tag_scheme": _one_of("bio", "bioes"),
    "input_scheme": _one_of("iob2", "iob1"),
}


def check_values(obj: Any, section: str, source: str) -> None:
    """Apply ``RULES`` to a dataclass's fields and cross-field constraints; raise ConfigError naming the field."""
    for f in dataclasses.fields(obj):
        rule = RULES.get(f.name)
        value = getattr(obj, f.name)
        if rule is None or value is None:
            continue
        for i, item in enumerate(value if isinstance(value, list) else [value]):
            if isinstance(item, (int, float)) and not isinstance(item, bool) and item != item:  # NaN
                problem = "must be a number, got nan"
            else:
                try:
                    problem = rule(item)
                except TypeError:
                    continue  # a type the rule is not about (the type check already ran)
            if problem:
                where = f"{section}.{f.name}" + (f"[{i}]" if isinstance(value, list) else "")
                raise ConfigError(f"{source}: {where}: {problem}, got {short(item)}")
    problem = obj.check() if hasattr(obj, "check") else None
    if problem:
        raise ConfigError(f"{source}: {section}.{problem[0]}: {problem[1]}")


@dataclass
class DataConfig:
    """Where the examples come from and how text becomes token ids: the fields every task shares.

    Either ``dataset`` names a registry entry (``seqlab data list``), or ``train`` (and optionally
    ``dev``/``test``) name local files in ``format`` (tsv, csv, jsonl, folder = one file per class).
    Without a test file, fold ``fold`` of ``folds`` (seeded by ``split_seed``) is held out as test; without a
    dev file, ``dev_fraction`` of the remaining training examples is.

    Each task owns its data section: a subclass declared beside the task (``TaggingData``, ``Seq2SeqData``, …)
    adds its own fields and the task registry gives it by the task's name (``seqlab.tasks.data_section``), so a
    recipe's ``data:`` is validated against its task's fields when it is read (``data.bptt`` in a classification
    recipe is an unknown field). ``check()`` returns a cross-field problem, if any, as (field, message).
    """

    dataset: str | None = None
    train: str | None = None
    dev: str | None = None
    test: str | None = None
    format: str = "tsv"  # classification: tsv, csv, jsonl, folder; tagging: conll, conllu; seq2seq: also aligned
    encoding: str = "utf-8"  # of local data files (decoded strictly: a bad byte is an error at its file:line:column)
    text_field: str = "text"
    label_field: str = "label"
    label_set: str | None = None  # dataset-specific label choice, e.g. TREC "coarse" or "fine"
    tokenizer: str = "basic_english"
    user_dict: str | None = None  # tokenizer jieba: a user dictionary file (jieba's format: word [freq] [tag])
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
    eval_limit: int | None = None  # keep the first N dev and test examples (smoke tests)
    vectors: str | None = None  # pretrained word vectors (GloVe / word2vec text) for the word embedding

    def split_source(self, split: str) -> str:
        """Where a split's examples come from, for titles: ``sst2:test``; ``dev.tsv`` when the recipe names a file;
        ``train.tsv:dev`` when it was held out of train."""
        if self.dataset:
            return f"{self.dataset}:{split}"
        return getattr(self, split, None) or f"{self.train}:{split}"

    def default_monitor(self) -> str:
        """The dev metric that picks the best epoch when ``train.monitor`` is not given: each task's data section
        names one its evaluation always reports."""
        return "accuracy"

    def check(self) -> tuple[str, str] | None:
        if self.fold >= self.folds:
            return "fold", f"must be below data.folds ({self.folds}), got {self.fold}"
        if self.user_dict and self.tokenizer != "jieba":
            return "user_dict", f"a user dictionary is for tokenizer jieba, not {self.tokenizer}"
        return None


#: a task name → its data section's dataclass; the task registry's (``seqlab.tasks.data_section``), which raises
#: ConfigError naming the recipe's ``task`` field for an unknown name
DataSections = Callable[[str, str], type]


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
    # ULMFiT fine-tuning (Howard & Ruder 2018), for models with model.encoder_from; layer groups bottom to top are
    # the embedding, each recurrent layer, the rest (pooling, head)
    lr_group_decay: float | None = None  # discriminative rates: each group below the top gets lr ÷ this (2.6)
    unfreeze: str = "all"  # all; gradual: epoch 1 trains the top group only, each later epoch one more
    # every weight from another run of the same model and vocabulary (ULMFiT's LM fine-tuning on a task's text)
    init_from: str | None = None
    slanted_fraction: float = 0.1  # schedule slanted: the fraction of steps the rate rises (cut_frac)
    slanted_ratio: float = 32.0  # schedule slanted: how much smaller the lowest rate is than lr
    monitor: str | None = None  # dev metric for early stopping and the best checkpoint (default: the task's)
    monitor_mode: str | None = None  # min or max (default: min for losses and error rates, else max)
    patience: int | None = 3  # epochs without dev improvement before stopping; None never stops early
    bucket: bool = True  # length-bucketed batches
    seed: int = 1
    threads: int | None = None  # torch intra-op threads; None = all cores
    checkpoint_every: int | None = None  # steps between mid-epoch checkpoints; None = end of each epoch
    log_every: int = 50
    max_minutes: float | None = None  # training time budget: stop mid-epoch when spent, then evaluate and save
    log: list[str] = field(default_factory=lambda: ["jsonl"])  # run logs: jsonl (always), csv, tensorboard
    device: str = "auto"  # auto (CUDA, else MPS, else CPU), cpu, cuda, mps; per process under torchrun
    precision: str = "fp32"  # fp32; fp64 (weights and arithmetic in float64: exactness checks); bf16 (autocast)
    keep_epochs: int = 0  # keep the model of each of the last N epochs in epochs/ (for `seqlab average`)


#: dev metrics that are better lower: ``train.monitor_mode`` defaults to min for these
MINIMISED = ("loss", "nll", "perplexity", "bpc", "bits_per_token", "wer", "per", "ter", "mse")


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
        raise ConfigError(errors[0] if errors else f"{where}: invalid value {short(value)}")
    if origin is list:
        (item,) = typing.get_args(tp) or (Any,)
        if isinstance(value, str) and "," in value:  # --set model.widths=3,4 means [3, 4]
            value = [part.strip() for part in value.split(",")]
        elif isinstance(value, (str, int, float)):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {short(value)}")
        return [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict or tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no"):
            return value.lower() in ("true", "yes")
        raise ConfigError(f"{where}: expected true or false, got {short(value)}")
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ConfigError(f"{where}: expected an integer, got {short(value)}")
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{where}: expected an integer, got {short(value)}") from None
    if tp is float:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected a number, got {short(value)}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {short(value)}") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ConfigError(f"{where}: expected a finite number, got {short(value)}")
        return number
    if tp is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ConfigError(f"{where}: expected a string, got {short(value)}")
        return str(value)
    raise ConfigError(f"{where}: unsupported type {_type_name(tp)}")


def from_dict(cls: type, values: dict[str, Any] | None, section: str, source: str, lenient: bool = False) -> Any:
    """Build dataclass ``cls`` from a mapping, naming ``source: section.field`` in every error. ``lenient``
    drops unknown fields (a recipe saved by an older seqlab, whose flat data section held every task's)."""
    values = values or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: {section}: expected a mapping, got {short(values)}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    if lenient:
        values = {k: v for k, v in values.items() if k in names}
    unknown = sorted(map(str, set(values) - names))
    if unknown:
        close = difflib.get_close_matches(unknown[0], names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"{source}: {section}.{unknown[0][:40]}: unknown field{hint} (known: {', '.join(sorted(names))})"
        )
    kwargs = {}
    for name, value in values.items():
        kwargs[name] = _coerce(value, hints[name], f"{source}: {section}.{name}")
    obj = cls(**kwargs)
    check_values(obj, section, source)
    return obj


def apply_overrides(raw: dict[str, Any], overrides: list[str], source: str) -> dict[str, Any]:
    """Apply ``key.sub=value`` strings (values parsed as YAML) to a raw recipe mapping."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value, e.g. train.lr=0.001")
        key, text = item.split("=", 1)
        parts = key.strip().split(".")
        node = raw
        if not all(parts):
            raise ConfigError(f"--set {short(item)}: empty name in {key.strip()!r}")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {item!r}: {part} is not a section")
        node[parts[-1]] = safe_yaml(text, f"--set {key.strip()}") if text.strip() else None
    return raw


def recipe_from_dict(raw: dict[str, Any], source: str = "<recipe>", *, sections: DataSections) -> Recipe:
    """Validate a raw mapping into a Recipe, the data section by its task's dataclass (``sections(task, source)``,
    the task registry's lookup; the model section is validated by the model registry)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping with task, data, model, train, got {short(raw)}")
    unknown = sorted(map(str, set(raw) - {"task", "data", "model", "train"}))
    if unknown:
        raise ConfigError(f"{source}: {unknown[0]}: unknown section (known: data, model, task, train)")
    task = _coerce(raw.get("task", "classification"), str, f"{source}: task")
    section = sections(task, source)  # the task first: a typo there explains what follows
    model = raw.get("model") or {}
    if not isinstance(model, dict):
        raise ConfigError(f"{source}: model: expected a mapping with a name, got {short(model)}")
    if "name" not in model:
        raise ConfigError(f"{source}: model.name: missing (e.g. rnn_classifier, textcnn, bow)")
    data = from_dict(section, raw.get("data"), "data", source)
    train = from_dict(TrainConfig, raw.get("train"), "train", source)
    train.monitor = train.monitor or data.default_monitor()
    train.monitor_mode = train.monitor_mode or ("min" if train.monitor in MINIMISED else "max")
    return Recipe(task=task, data=data, model=dict(model), train=train, source=source)


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many nodes ``node`` stands for once aliases are expanded, computed without expanding them."""
    key = id(node)
    if key not in memo:
        memo[key] = 0  # a recursive alias counts once
        if isinstance(node, yaml.SequenceNode):
            memo[key] = 1 + sum(_expanded_size(n, memo) for n in node.value)
        elif isinstance(node, yaml.MappingNode):
            memo[key] = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
        else:
            memo[key] = 1
    return memo[key]


def safe_yaml(text: str, where: str) -> Any:
    """``yaml.safe_load`` that refuses what would expand past MAX_RECIPE_NODES values (alias bombs)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is None:
            return None
        if _expanded_size(node, {}) > MAX_RECIPE_NODES:
            raise ConfigError(f"{where}: more than {MAX_RECIPE_NODES:,} values once YAML aliases are expanded; "
                              "a recipe needs far fewer (an alias bomb?)")
        return yaml.safe_load(text)
    except RecursionError:
        raise ConfigError(f"{where}: nested too deeply") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(err, "problem", None) or short(str(err))
        lines = text.splitlines()
        if mark and mark.line < len(lines) and "\t" in lines[mark.line][: mark.column + 1]:  # PyYAML: "found character '\t'…"
            problem = "a tab character; YAML indents and separates with spaces only"
        raise ConfigError(f"{where}{line}: not valid YAML ({problem})") from None


PACKAGED_RECIPES = Path(__file__).parent / "recipes"  # shipped in the wheel; the checkout's recipes/ links here


def packaged_recipes() -> dict[str, Path]:
    """The recipes that ship with seqlab, by name (``mr-textcnn`` for recipes/mr-textcnn.yaml)."""
    return {p.stem: p for p in sorted(PACKAGED_RECIPES.glob("*.yaml"))}


def find_recipe(name: str | Path) -> Path:
    """A recipe file's path, or a packaged recipe's by its name: ``seqlab train mr-textcnn`` works after
    ``pip install`` as well as from a checkout."""
    path = Path(name)
    if path.exists() or path.suffix in (".yaml", ".yml") or len(path.parts) > 1:
        return path
    known = packaged_recipes()
    if str(name) in known:
        return known[str(name)]
    close = difflib.get_close_matches(str(name), list(known), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ConfigError(f"{name}: no such recipe file or packaged recipe; {hint}`seqlab recipes` lists them")


def load_recipe(path: str | Path, overrides: list[str] | None = None, *, sections: DataSections) -> Recipe:
    """Read a YAML recipe file (UTF-8, at most MAX_RECIPE_BYTES), or a packaged recipe by name, and apply
    ``--set`` overrides."""
    path = find_recipe(path)
    try:
        if path.is_dir():
            raise ConfigError(f"{path}: is a directory, not a recipe file")
        if path.stat().st_size > MAX_RECIPE_BYTES:
            raise ConfigError(f"{path}: {path.stat().st_size:,} bytes; a recipe is at most {MAX_RECIPE_BYTES:,}")
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such recipe file") from None
    except PermissionError:
        raise ConfigError(f"{path}: not readable (permission denied)") from None
    if b"\0" in data:
        raise ConfigError(f"{path}: a binary file, not a YAML recipe")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (byte {data[err.start]:#x})") from None
    raw = safe_yaml(text, str(path))
    if raw is None:
        raw = {}
    recipe = recipe_from_dict(apply_overrides(raw, overrides or [], str(path)), str(path), sections=sections)
    resolve_data_paths(recipe.data, path.parent, str(path))
    return recipe


PATH_FIELDS = ("train", "dev", "test", "vectors", "user_dict")


def resolve_data_paths(data: DataConfig, folder: Path, source: str = "<recipe>") -> None:
    """Relative data paths are read from the recipe's folder when the file is there (so ``seqlab train
    mydata/recipe.yaml`` finds ``mydata/train.tsv``), else from the current directory as before, and are kept
    absolute (the run's ``recipe.yaml`` then works from any directory). A
    comma-separated pair (``format: aligned``) is resolved part by part; absolute paths stay as they are.
    A data file (``train``, ``dev``, ``test``) found in neither place fails here, naming the field and both
    places looked in, before anything is read or trained."""
    for name in PATH_FIELDS:
        value = getattr(data, name)
        if not value:
            continue
        parts = []
        for part in str(value).split(","):
            part = part.strip()
            beside = folder / part
            relative = part and not Path(part).is_absolute()
            if name != "vectors" and part and not Path(part).exists() and not (relative and beside.exists()):
                where = f"{beside.resolve()} or {Path(part).resolve()}" if relative and folder.resolve() != Path.cwd() \
                    else str(Path(part).resolve())
                raise ConfigError(f"{source}: data.{name}: no such file {part!r} (looked for {where})")
            found = beside if relative and beside.exists() else Path(part)
            # absolute, so that the run's saved recipe finds its files from any working directory
            parts.append(str(found.resolve()) if part and found.exists() else part)
        setattr(data, name, ",".join(parts))
