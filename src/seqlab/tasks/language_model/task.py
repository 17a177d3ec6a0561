"""Language modelling (N → N) and conditional generation (1 → N).

Two shapes of data, one model (``models.language_model``):

* **stream** (default) — the split's lines joined into one token stream, each line ended by ``<eos>``
  (word level, as Mikolov's PTB) or by its newline character (``tokenizer: character``). Training cuts the
  stream into ``batch_size`` contiguous rows and walks them in windows of ``data.bptt`` tokens; the hidden
  state is carried from one window to the next and detached between them (truncated BPTT, Zaremba et al.
  2014). A mid-epoch checkpoint saves the carried state (``training_state``), so a resumed run continues exactly.
* **sentence** (``data.conditional: true``) — one example per text, ``<bos> w₁ … wₙ`` predicting
  ``w₁ … wₙ <eos>``, conditioned on the example's label: "generate a positive review".

Metrics over the whole split, no padding counted: ``nll`` (nats per predicted token), ``perplexity`` =
exp(nll) and nll / ln 2 in bits: ``bpc`` (bits per character) for character models, ``bits_per_token``
for the others. In stream mode evaluation
splits the stream into ``eval_batch_size`` contiguous rows, each starting one token early so that every
token after the split's first is predicted exactly once; rows start from a zero state, so
``eval_batch_size: 1`` is the papers' setting exactly (the whole split as one sequence).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ... import metrics, runtime
from ...config import ConfigError, DataConfig
from ...data.batching import IGNORE_INDEX, bptt_stream, bptt_windows, bucket_batches, device_of, pad, to_device
from ...data.datasets import Splits, corpus_texts, load_splits
from ...data.splits import resolve_splits
from ...data.readers import TextExample, read_examples
from ...data.tokenizers import Tokenizer
from ...data.vocab import Vocab
from ...decoding import generate
from ...models.language_model import detach_state
from ...options import GENERATION
from ...textstream import StopStream
from ..base import Task, checked_vocab
from ..vocab_from import borrowed_vocab
from .codec import LanguageModelCodec


@dataclass
class StreamSplit:
    ids: torch.Tensor  # [N] the whole split as one token stream
    bptt: int

    def __len__(self) -> int:  # BPTT windows in a single row: the loop's steps per epoch × batch size
        return math.ceil((self.ids.numel() - 1) / self.bptt) if self.ids.numel() > 1 else 0


@dataclass
class StreamedSplit:
    """``data.stream``'s training split: the texts (read from disk when iterated) and their token counts."""

    texts: Any  # StreamedTexts, with .lengths filled by the vocabulary pass
    bptt: int

    def __len__(self) -> int:  # as StreamSplit: BPTT windows in a single row
        return math.ceil(max(sum(self.texts.lengths) - 1, 0) / self.bptt)


@dataclass
class SentenceSplit:
    ids: list[list[int]]
    conditions: list[int]

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class LMBatch:
    inputs: torch.Tensor  # [B, T]
    targets: torch.Tensor  # [B, T], IGNORE_INDEX where nothing is predicted
    lengths: torch.Tensor | None = None  # sentence mode
    condition: torch.Tensor | None = None  # [B] label ids, conditional models
    carry: bool = False  # stream mode: continues the previous window, so start from the carried state

    @property
    def n_tokens(self) -> int:
        return int((self.targets != IGNORE_INDEX).sum())


class StreamedTexts:
    """The training texts of ``data.corpus`` under ``data.stream``: read from disk each time they are iterated
    (never held), the dev texts (every ``every``-th) and those beyond ``data.limit`` left out; ``len`` is their
    number, counted by one pass at the start."""

    def __init__(self, sources: list[str], options: Any, every: int, count: int):
        self.sources, self.options, self.every, self.count = sources, options, every, count

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[str]:
        kept = 0
        for name in self.sources:
            for i, text in enumerate(corpus_texts(name, self.options)):
                if self.every and i % self.every == self.every - 1:
                    continue
                if kept >= self.count:
                    return
                kept += 1
                yield text


def read_corpus_splits(cfg: "LanguageModelData", source: str = "<recipe>") -> Splits:
    """``data.corpus``: the texts of every corpus named (files or ``NAME:SPLIT`` such as ``imdb:unsup``), in
    order; every k-th text held out as dev (k = round(1 / dev_fraction)) unless ``data.dev`` names a file, and a
    test split only from ``data.test`` (a corpus run reads no other test text: pretraining must never see the
    downstream task's test reviews)."""
    if cfg.dataset or cfg.train:
        raise ConfigError(f"{source}: data.corpus replaces data.dataset and data.train; give one of them")
    every = max(2, round(1 / cfg.dev_fraction)) if cfg.dev_fraction > 0 and not cfg.dev else 0
    train: list[TextExample] = []
    dev: list[TextExample] = []
    count = 0
    for name in cfg.corpus:
        for i, text in enumerate(corpus_texts(name, cfg)):
            if every and i % every == every - 1:
                dev.append(TextExample(text, None))
            elif cfg.stream:
                count += 1  # streamed: counted now, read again as training goes
            else:
                train.append(TextExample(text, None))
    lines = lambda p: [TextExample(t, None) for t in corpus_texts(p)]  # noqa: E731
    texts = StreamedTexts(cfg.corpus, cfg, every, min(count, cfg.limit or count)) if cfg.stream else train
    dropped = count - len(texts) if cfg.stream else 0
    splits = Splits(texts, lines(cfg.dev) if cfg.dev else dev, lines(cfg.test) if cfg.test else [], [])
    return splits.with_dropped("train", "beyond data.limit", dropped)


def read_text_splits(cfg: "LanguageModelData", source: str = "<recipe>") -> Splits:
    """Registry dataset or local files; a local text without dev/test files is cut 90/5/5 in order."""
    if cfg.corpus:
        return read_corpus_splits(cfg, source)
    if cfg.dataset:
        return load_splits(cfg.dataset, cfg)
    fmt = cfg.format if cfg.conditional else "lines"
    read = lambda p: read_examples(p, fmt, cfg.text_field, cfg.label_field, cfg.encoding)  # noqa: E731
    splits = resolve_splits(cfg, read, source, test="contiguous", dev="contiguous", what="text")
    labels = sorted({ex.label for part in (splits.train, splits.dev, splits.test) for ex in part if ex.label})
    return replace(splits, labels=labels)


@dataclass
class LanguageModelData(DataConfig):
    """``data:`` of a language-model recipe: the shared fields, the BPTT window and conditioning."""

    bptt: int = 35  # tokens per truncated-BPTT window
    conditional: bool = False  # one sentence per example, conditioned on its label
    # texts to learn from instead of dataset/train: files or NAME:SPLIT, e.g. [imdb:train, imdb:unsup]
    corpus: list[str] = field(default_factory=list)
    stream: bool = False  # data.corpus read from disk as training goes: memory bounded by the batch, not the corpus
    vocab_from: str | None = None  # a run whose tokenizer and vocabulary to use (fine-tuning that LM: train.init_from)

    def check(self) -> tuple[str, str] | None:
        if self.stream and not self.corpus:
            return "stream", "streaming reads data.corpus: name the corpora there"
        if self.vocab_from and (self.tokenizer == "bpe" or self.conditional):
            return "vocab_from", "a borrowed vocabulary needs a fixed tokenizer (not bpe) and no data.conditional"
        if self.stream and (self.tokenizer == "bpe" or self.conditional):
            return "stream", "a streamed corpus needs a fixed tokenizer (not bpe) and no data.conditional"
        return super().check()

    def default_monitor(self) -> str:
        return "perplexity"

    def split_source(self, split: str) -> str:
        named = {"dev": self.dev, "test": self.test}.get(split)
        if self.corpus and not named:
            return f"{'+'.join(self.corpus)}:{split}"
        return super().split_source(split)


class ExportedLanguageModel:
    """An exported language model's step graph called as ``RecurrentLM`` is: (inputs [B, T], hidden, condition,
    lengths) → (logits [B, T, V], hidden), the state going out and back in between calls. Padding sits at the end
    of a row and the model looks only left, so logits at real positions do not depend on it (``lengths`` unused)."""

    def __init__(self, predictor):
        self.session, self.state = predictor.session, predictor.meta["state"]
        self.outputs = [o.name for o in self.session.get_outputs()]

    def eval(self) -> "ExportedLanguageModel":
        return self

    def __call__(self, inputs: torch.Tensor, hidden=None, condition: torch.Tensor | None = None, lengths=None):
        if hidden is None:
            zeros = np.zeros((self.state["layers"], inputs.size(0), self.state["hidden_size"]), np.float32)
            hidden = {"h0": zeros, **({"c0": zeros.copy()} if self.state["cell"] == "lstm" else {})}
        feeds = {"ids": inputs.numpy().astype(np.int64), **hidden}
        if condition is not None:
            feeds["condition"] = condition.numpy().astype(np.int64)
        out = dict(zip(self.outputs, self.session.run(self.outputs, feeds)))
        hidden = {"h0": out["h_n"], **({"c0": out["c_n"]} if "c_n" in out else {})}
        return torch.from_numpy(out["logits"]), hidden


class LanguageModelTask(Task):
    name = "language_model"
    data_config = LanguageModelData
    streams = True
    lends_encoder = True

    def __init__(self, tokenizer: Tokenizer, vocab: Vocab, conditions: list[str] | None = None, bptt: int = 35):
        self.tokenizer, self.vocab, self.bptt = tokenizer, vocab, bptt
        self.conditions = list(conditions or [])
        self.condition_ids = {c: i for i, c in enumerate(self.conditions)}
        self.codec = LanguageModelCodec(tokenizer, vocab, self.conditions)  # prompt ↔ ids ↔ text, torch-free
        self.characters, self.line_end = self.codec.characters, self.codec.line_end
        self._carried = None  # training: the hidden state carried across windows

    @property
    def conditional(self) -> bool:
        return bool(self.conditions)

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_recipe(cls, cfg: DataConfig, source: str = "<recipe>") -> tuple["LanguageModelTask", Splits]:
        splits = read_text_splits(cfg, source)
        if cfg.stream:
            return cls.from_stream(cfg, splits.limited(None, cfg.eval_limit), source)
        splits = splits.limited(cfg.limit, cfg.eval_limit)
        train = splits.train
        if cfg.vocab_from:  # ULMFiT's LM fine-tuning: the pretrained LM's words, every row kept
            tokenizer, vocab = borrowed_vocab(cfg, cfg.vocab_from, source)
        else:
            tokenizer = Tokenizer.from_config(cfg.tokenizer, cfg.lowercase, cfg.user_dict) if cfg.tokenizer != "bpe" \
                else Tokenizer.train_bpe((ex.text for ex in train), cfg.bpe_vocab_size, cfg.lowercase)
            tokens = [tokenizer(ex.text) for ex in train]
            if tokenizer.name == "character":
                tokens.append(["\n"])
            vocab = checked_vocab(Vocab.build(tokens, cfg.min_freq, cfg.max_size), len(train), cfg, source,
                                  "training lines")
        if cfg.conditional and not splits.labels:
            raise ConfigError(f"{source}: data.conditional: the data has no labels to condition on")
        task = cls(tokenizer, vocab, splits.labels if cfg.conditional else None, cfg.bptt)
        return task, splits

    @classmethod
    def from_stream(cls, cfg: "LanguageModelData", splits: Splits, source: str) -> tuple["LanguageModelTask", Splits]:
        """``data.stream``: the vocabulary built in one pass over the streamed texts, which also records each text's
        length in tokens (what the batches need to know their number); nothing else of the corpus is kept."""
        tokenizer = Tokenizer.from_config(cfg.tokenizer, cfg.lowercase, cfg.user_dict)
        if cfg.vocab_from:
            tokenizer, given = borrowed_vocab(cfg, cfg.vocab_from, source)
        lengths: list[int] = []

        def tokens():
            for text in splits.train:
                words = tokenizer(text)
                lengths.append(len(words) + 1)  # and the line end
                yield words

        if cfg.vocab_from:
            vocab = given
            for _ in tokens():  # the lengths still take their one pass
                pass
        else:
            vocab = checked_vocab(Vocab.build(tokens(), cfg.min_freq, cfg.max_size), len(splits.train), cfg, source,
                                  "training lines")
        task = cls(tokenizer, vocab, None, cfg.bptt)
        splits.train.lengths = lengths
        return task, splits

    @classmethod
    def from_files(cls, files: dict[str, Any], recipe: dict[str, Any]) -> "LanguageModelTask":
        lm = files["language_model"]
        return cls(Tokenizer.from_dict(files["tokenizer"]), Vocab.from_dict(files["vocab"]), lm["conditions"], lm["bptt"])

    @classmethod
    def load_split(cls, cfg: DataConfig, split: str, source: str = "<recipe>") -> list[TextExample]:
        return read_text_splits(cfg, source).limited(cfg.limit, cfg.eval_limit).get(split)  # the run's own examples

    def files(self) -> dict[str, Any]:
        return {"tokenizer": self.tokenizer.to_dict(), "vocab": self.vocab.to_dict(),
                "language_model": {"conditions": self.conditions, "bptt": self.bptt}}

    @classmethod
    def score_export(cls, predictor: Any, examples: list, data: dict[str, Any], batch_size: int,
                     beam: int | None = None) -> dict[str, Any]:
        """Perplexity through this task's own evaluation, the export's step graph called as the model is."""
        task = cls.from_files(predictor.meta["files"], {"data": data})
        return task.evaluate(ExportedLanguageModel(predictor), task.encode(examples), batch_size)

    def onnx_graphs(self, model: nn.Module, name: str) -> dict[str, Any]:
        """``tasks/language_model/onnx.py``'s graphs (imported here: onnx only when exporting)."""
        from ...onnx_graph import ONNX_FILE
        from .onnx import graph

        return {ONNX_FILE: graph(model, name)}

    def export_metadata(self, model: nn.Module) -> dict[str, Any]:
        """The recurrent state the graph takes and returns (sampling runs in numpy)."""
        return {"state": {"layers": model.rnn.num_layers, "hidden_size": model.rnn.hidden_size, "cell": model.rnn.mode}}

    def model_section(self, section: dict[str, Any]) -> dict[str, Any]:
        return {**section, "vocab_size": len(self.vocab), "padding_idx": self.vocab.pad_id,
                "num_conditions": len(self.conditions)}

    # ---------------------------------------------------------------- data
    def encode_text(self, text: str) -> list[int]:
        return self.codec.ids(text)

    def encode(self, examples: list[TextExample] | StreamedTexts) -> StreamSplit | SentenceSplit | StreamedSplit:
        if isinstance(examples, StreamedTexts):
            return StreamedSplit(examples, self.bptt)
        if self.conditional:
            conds = []
            for ex in examples:
                if ex.label not in self.condition_ids:
                    raise ValueError(f"label {ex.label!r} was not seen in training (known: {', '.join(self.conditions)})")
                conds.append(self.condition_ids[ex.label])
            return SentenceSplit([self.encode_text(ex.text) for ex in examples], conds)
        ids: list[int] = []
        for ex in examples:
            ids.extend(self.encode_text(ex.text))
            ids.append(self.line_end)
        return StreamSplit(torch.tensor(ids, dtype=torch.long), self.bptt)

    def batch_lengths(self, split: StreamSplit | SentenceSplit | StreamedSplit) -> list[int]:
        if isinstance(split, SentenceSplit):
            return [len(s) + 1 for s in split.ids]
        return [split.bptt] * len(split)

    def batches(self, split, batch_size: int, generator: torch.Generator | None = None,
                shuffle: bool = False, bucket: bool = True) -> Iterable[LMBatch]:
        """A stream's BPTT windows in the text's order (never shuffled; a streamed corpus's made as they are
        needed, with a length), or a sentence split's length-bucketed batches."""
        if isinstance(split, StreamedSplit):
            return StreamedWindows(self, split, batch_size)
        if isinstance(split, SentenceSplit):
            return self._sentence_batches(split, batch_size, generator, shuffle, bucket)
        return self._stream_batches(split, batch_size)

    def _stream_batches(self, split: StreamSplit, batch_size: int) -> Iterator[LMBatch]:
        stream = bptt_stream(split.ids.tolist(), batch_size)
        for i, (x, y) in enumerate(bptt_windows(stream, split.bptt)):
            yield LMBatch(x, y, carry=i > 0)

    def _sentence_batches(self, split: SentenceSplit, batch_size, generator, shuffle, bucket) -> Iterator[LMBatch]:
        lengths = self.batch_lengths(split)
        for index in bucket_batches(lengths, batch_size, generator, shuffle, bucket):
            inputs, lens = pad([[self.vocab.bos_id, *split.ids[i]] for i in index], self.vocab.pad_id)
            targets, _ = pad([[*split.ids[i], self.vocab.eos_id] for i in index], IGNORE_INDEX)
            yield LMBatch(inputs, targets, lens, torch.tensor([split.conditions[i] for i in index]))

    def eval_rows(self, split: StreamSplit, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs, targets) [R, L]: the stream in ``rows`` contiguous pieces, each starting one token before
        its first target, so every token but the first is a target exactly once; the last row is padded."""
        n = split.ids.numel() - 1  # predictions
        rows = max(1, min(rows, n))
        width = math.ceil(n / rows)
        inputs = torch.full((rows, width), self.vocab.pad_id, dtype=torch.long)
        targets = torch.full((rows, width), IGNORE_INDEX, dtype=torch.long)
        for r in range(rows):
            a, b = r * width, min((r + 1) * width, n)
            if a < b:
                inputs[r, : b - a] = split.ids[a:b]
                targets[r, : b - a] = split.ids[a + 1 : b + 1]
        return inputs, targets

    # ---------------------------------------------------------------- model
    def loss_count(self, model: nn.Module, batch) -> int:
        return batch.n_tokens  # a mean over the predicted tokens

    def loss(self, model: nn.Module, batch: LMBatch) -> torch.Tensor:
        hidden = self._carried if batch.carry else None
        total, hidden = model(batch.inputs, hidden, batch.condition, batch.lengths, targets=batch.targets)
        self._carried = detach_state(hidden) if batch.lengths is None else None
        return total / max(batch.n_tokens, 1)

    def training_state(self) -> dict[str, torch.Tensor]:
        """The hidden state carried into the next window: ``hidden.0`` (h), and ``hidden.1`` (c) for an LSTM."""
        carried = self._carried if isinstance(self._carried, tuple) else (self._carried,) if self._carried is not None else ()
        return {f"hidden.{i}": h.contiguous() for i, h in enumerate(carried)}

    def restore_training_state(self, tensors: dict[str, torch.Tensor]) -> None:
        parts = [tensors[f"hidden.{i}"] for i in range(len(tensors))]
        self._carried = None if not parts else parts[0] if len(parts) == 1 else tuple(parts)

    def predict(self, model: nn.Module, batch: LMBatch) -> list[list[int]]:
        """The most likely next token at every position."""
        with torch.no_grad():
            batch = to_device(batch, device_of(model))
            logits, _ = model(batch.inputs, None, batch.condition, batch.lengths)
            return logits.argmax(-1).tolist()

    @torch.no_grad()
    def total_nll(self, model: nn.Module, split, batch_size: int = 10) -> tuple[float, int]:
        """(summed negative log-likelihood in nats, number of predicted tokens) over the whole split."""
        model.eval()
        total, count = 0.0, 0
        if isinstance(split, SentenceSplit):
            batches = list(self.batches(split, batch_size))
            for batch in runtime.progress(batches, len(batches), "evaluating"):
                batch = to_device(batch, device_of(model))
                logits, _ = model(batch.inputs, None, batch.condition, batch.lengths)
                total += F.cross_entropy(logits.reshape(-1, logits.size(-1)), batch.targets.reshape(-1),
                                         ignore_index=IGNORE_INDEX, reduction="sum").item()
                count += batch.n_tokens
            return total, count
        inputs, targets = self.eval_rows(split, batch_size)
        inputs, targets = inputs.to(device_of(model)), targets.to(device_of(model))
        hidden = None
        starts = range(0, inputs.size(1), self.bptt)
        for start in runtime.progress(starts, len(starts), "evaluating"):
            x, y = inputs[:, start : start + self.bptt], targets[:, start : start + self.bptt]
            logits, hidden = model(x, hidden)
            total += F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1),
                                     ignore_index=IGNORE_INDEX, reduction="sum").item()
            count += int((y != IGNORE_INDEX).sum())
        return total, count

    def evaluate(self, model: nn.Module, split, batch_size: int = 10) -> dict[str, Any]:
        total, count = self.total_nll(model, split, batch_size)
        nll = total / max(count, 1)
        bits = "bpc" if self.tokenizer.name == "character" else "bits_per_token"  # named by the unit predicted
        return {"perplexity": metrics.perplexity(total, max(count, 1)), bits: nll / math.log(2), "nll": nll,
                "tokens": count}

    # ---------------------------------------------------------------- generation
    def detokenize(self, ids: list[int]) -> str:
        return self.codec.text(ids)

    def generate(self, model: nn.Module, prompt: str = "", max_tokens: int = 100, condition: str | None = None,
                 stop: list[str] | None = None, stop_at_eos: bool = True, on_text: Callable[[str], None] | None = None,
                 **sampling: Any) -> str:
        """Continue ``prompt``; ``sampling`` is ``decoding.generate``'s (temperature, top_k, top_p, greedy, seed).
        Returns the generated text (prompt excluded); ``on_text`` receives it piece by piece as it is produced.
        An empty prompt starts a new line (or, conditionally, a new sentence)."""
        model.eval()
        cond = None
        if self.conditional:
            if condition not in self.condition_ids:
                raise ValueError(f"give a condition, one of: {', '.join(self.conditions)} (got {condition!r})")
            cond = torch.tensor([self.condition_ids[condition]], device=device_of(model))
        elif condition is not None:
            raise ValueError("this model is not conditional; it takes no condition")
        prompt_ids = self.codec.start_ids(prompt)
        eos = self.vocab.eos_id if (stop_at_eos or self.conditional) else None
        stream = StopStream(stop or [], on_text)
        produced: list[int] = []
        state = model.start(1, cond)
        banned = [self.vocab.pad_id, self.vocab.bos_id]
        prompt_tensor = torch.tensor([prompt_ids], device=device_of(model))
        for token in generate(model, state, prompt_tensor, max_tokens, eos_id=eos, banned=banned, **sampling):
            t = int(token[0])
            if t == eos:
                break
            produced.append(t)
            if stream.update(self.codec.continuation(prompt, produced)):
                break
        return stream.finish()

    # ---------------------------------------------------------------- inference
    empty_input_ok = True  # an empty prompt starts a new line (or sentence)
    infer_options = GENERATION

    def input_tokens(self, text: str) -> list[str]:
        return self.tokenizer(text)

    def infer(self, model: nn.Module, texts: list[str], options: dict[str, Any]) -> list[dict[str, Any]]:
        """``{"prompt", "text", "seed", "condition"}`` per prompt: ``text`` is the continuation alone."""
        return [self.infer_stream(model, prompt, options) for prompt in texts]

    def infer_stream(self, model: nn.Module, prompt: str, options: dict[str, Any],
                     on_text: Callable[[str], None] | None = None) -> dict[str, Any]:
        """``infer`` for one prompt, passing the text to ``on_text`` piece by piece as it is produced."""
        text = self.generate(model, prompt, options["max_tokens"], options["condition"], options["stop"] or [],
                             options["eos_stop"], on_text, temperature=options["temperature"], top_k=options["top_k"],
                             top_p=options["top_p"], greedy=options["greedy"], seed=options["seed"])
        return {"prompt": prompt, "text": text, "seed": options["seed"], "condition": options["condition"]}


class StreamedWindows:
    """The BPTT windows of a streamed corpus for one epoch, made as they are needed: text j goes to row j mod B
    (rows read round-robin in one pass over the corpus), each row a contiguous stream, the hidden state carried
    from window to window as in ``bptt_stream``; at most a few texts per row are held at once. Under data
    parallelism each process keeps only its own rows (``SHARD``, taken when the windows are made) and tokenizes
    only their texts. ``len`` comes from the recorded text lengths: every row is cut to the shortest's length."""

    def __init__(self, task: LanguageModelTask, split: StreamedSplit, batch_size: int):
        from ...data.batching import SHARD

        self.task, self.split, self.batch_size = task, split, batch_size
        self.rows = range(batch_size)[SHARD.rows(batch_size)] if SHARD.world > 1 else range(batch_size)
        totals = [0] * batch_size
        for j, n in enumerate(split.texts.lengths):
            totals[j % batch_size] += n
        self.row_tokens = min(totals) if totals else 0

    def __len__(self) -> int:
        return math.ceil(max(self.row_tokens - 1, 0) / self.split.bptt)

    def __iter__(self) -> Iterator[LMBatch]:
        B, bptt, mine = self.batch_size, self.split.bptt, set(self.rows)
        buffers: dict[int, list[int]] = {r: [] for r in self.rows}
        texts = enumerate(iter(self.split.texts))
        used = 0
        for i in range(len(self)):
            width = min(bptt, self.row_tokens - 1 - used)
            while any(len(buffers[r]) < width + 1 for r in self.rows):
                j, text = next(texts)
                if j % B in mine:
                    buffers[j % B].extend([*self.task.encode_text(text), self.task.line_end])
            x = torch.tensor([buffers[r][:width] for r in self.rows])
            y = torch.tensor([buffers[r][1:width + 1] for r in self.rows])
            for r in self.rows:
                del buffers[r][:width]
            used += width
            yield LMBatch(x, y, carry=i > 0)
