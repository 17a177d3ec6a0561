"""Sequence labelling (aligned N → N): one tag per token. Loss: the CRF's negative log-likelihood per sentence
(mean over the batch), or token cross-entropy for a softmax tagger. Metrics: token accuracy, and for chunk /
entity tags (B-/I- prefixes) precision, recall and F1 through seqeval in strict IOB2 mode. A model trained on
BIOES tags (``data.tag_scheme: bioes``) is evaluated after conversion back to IOB2."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ... import metrics
from ...config import ConfigError, DataConfig
from ...data.batching import IGNORE_INDEX, bucket_batches, device_of, lengths_to_mask, pad, to_device
from ...data.datasets import Splits, get_spec, load_splits
from ...data.splits import resolve_splits
from ...data.readers import DataFormatError, TaggedSentence, read_conll, read_conllu
from ...data.tags import chunks_starting_inside, iob1_to_iob2, to_bioes
from ...data.tokenizers import Tokenizer
from ...data.vocab import Vocab
from ..base import Task, checked_vocab
from .codec import MAX_WORD_CHARS, TaggingCodec



@dataclass
class TaggedSplit:
    sentences: list[TaggedSentence]
    ids: list[list[int]]
    chars: list[list[list[int]]]
    tag_ids: list[list[int]]
    feature_ids: list[list[list[int]]]  # per sentence, per feature column, one id per token

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class TaggingBatch:
    ids: torch.Tensor  # [B, T]
    lengths: torch.Tensor  # [B]
    chars: torch.Tensor  # [B, T, W]
    char_lengths: torch.Tensor  # [B, T]
    tags: torch.Tensor  # [B, T], IGNORE_INDEX on padding
    index: list[int]
    features: torch.Tensor | None = None  # [B, T, F] ids of the extra input columns

    @property
    def n_tokens(self) -> int:
        return int(self.lengths.sum())


def read_tagged_splits(cfg: DataConfig, source: str = "<recipe>") -> Splits:
    if cfg.dataset:
        if get_spec(cfg.dataset).task != "tagging":
            raise ConfigError(f"{source}: data.dataset: {cfg.dataset!r} is not a tagging dataset")
        return load_splits(cfg.dataset, cfg)
    if cfg.format == "conllu":
        read = lambda p: read_conllu(p, cfg.label_set or "upos", cfg.encoding)  # noqa: E731
    elif cfg.format == "conll":
        read = lambda p: read_conll(p, tag_column=cfg.tag_column, feature_columns=tuple(cfg.feature_columns),
                                   encoding=cfg.encoding)  # noqa: E731
    else:
        raise ConfigError(f"{source}: data.format: tagging reads conll or conllu, got {cfg.format!r}")
    read_file = read

    def read(path: str) -> list[TaggedSentence]:
        """One file in IOB2: IOB1 converted (``data.input_scheme: iob1``), IOB2 checked."""
        sentences = read_file(path)
        if cfg.input_scheme == "iob1":
            return [replace(s, tags=tuple(iob1_to_iob2(s.tags))) for s in sentences]
        bad = [(i, chunks_starting_inside(s.tags)) for i, s in enumerate(sentences) if s.tags]
        bad = [(i, js) for i, js in bad if js]
        if bad:
            count = sum(len(js) for _, js in bad)
            raise DataFormatError(f"{path}: {count} chunks start with I- (first: sentence {bad[0][0] + 1}, token "
                                  f"{bad[0][1][0] + 1}), as in IOB1; set data.input_scheme: iob1 to convert the file "
                                  "to IOB2, or fix it (it would be mis-scored)")
        return sentences

    splits = resolve_splits(cfg, read, source, test="empty", dev="holdout", what="tagged sentences")
    return replace(splits, labels=sorted({t for s in splits.train for t in s.tags}))


@dataclass
class TaggingData(DataConfig):
    """``data:`` of a tagging recipe: the shared fields and the tag columns and schemes."""

    tokenizer: str = "treebank"  # splits raw text for predict / serve (the training files are tokenised already)
    tag_scheme: str = "bio"  # train on bio or bioes chunk tags (evaluation is always strict IOB2)
    input_scheme: str = "iob2"  # local files: their chunk scheme; iob1 files are converted to IOB2 on reading
    tag_column: int = -1  # local CoNLL files: the column to predict
    feature_columns: list[int] = field(default_factory=list)  # CoNLL: extra input columns (e.g. POS: [1])


def tag_scores(gold: list[list[str]], predicted: list[list[str]], chunked: bool) -> dict[str, Any]:
    """Token accuracy, and for chunk tags strict-IOB2 precision / recall / F1 overall and per type, with the
    conlleval-convention scores beside (``f1_conlleval``: compare these with published CoNLL figures)."""
    flat_gold = [t for g in gold for t in g]
    flat_pred = [t for p in predicted for t in p]
    scores: dict[str, Any] = {"accuracy": metrics.accuracy(flat_gold, flat_pred), "n": len(gold), "tokens": len(flat_gold)}
    if chunked:
        chunks = metrics.chunk_scores(gold, predicted)
        scores.update({"f1": chunks["f1"], "precision": chunks["precision"], "recall": chunks["recall"],
                       "f1_conlleval": chunks["f1_conlleval"], "precision_conlleval": chunks["precision_conlleval"],
                       "recall_conlleval": chunks["recall_conlleval"], "per_type": chunks["per_type"]})
    return scores


class TaggingTask(Task):
    name = "tagging"
    data_config = TaggingData

    def __init__(self, words: Vocab, chars: Vocab, tags: list[str], scheme: str = "bio", lowercase: bool = True,
                 tokenizer: Tokenizer | None = None, features: list[Vocab] | None = None):
        if scheme not in ("bio", "bioes"):
            raise ValueError(f"data.tag_scheme must be bio or bioes, got {scheme!r}")
        self.vocab, self.chars, self.tags = words, chars, list(tags)
        self.tag_ids = {t: i for i, t in enumerate(self.tags)}
        self.scheme, self.lowercase = scheme, lowercase
        self.tokenizer = tokenizer or Tokenizer("whitespace", lowercase=False)
        self.codec = TaggingCodec(self.tokenizer, words, chars, self.tags, scheme, lowercase)  # torch-free text ↔ JSON
        self.chunked = any(t.startswith(("B-", "S-")) for t in self.tags)
        self.features = list(features or [])

    # ---------------------------------------------------------------- construction
    def _train_tags(self, sentence: TaggedSentence) -> tuple[str, ...]:
        return tuple(to_bioes(sentence.tags)) if self.scheme == "bioes" else sentence.tags

    @classmethod
    def from_recipe(cls, cfg: DataConfig, source: str = "<recipe>") -> tuple["TaggingTask", Splits]:
        splits = read_tagged_splits(cfg, source).limited(cfg.limit, cfg.eval_limit)
        train = splits.train
        words = checked_vocab(Vocab.build(([w.lower() if cfg.lowercase else w for w in s.tokens] for s in train),
                                          cfg.min_freq, cfg.max_size), len(train), cfg, source, "training sentences")
        chars = Vocab.build(list(w[:MAX_WORD_CHARS]) for s in train for w in s.tokens)
        scheme_tags = [to_bioes(s.tags) if cfg.tag_scheme == "bioes" else s.tags for s in train]
        tags = sorted({t for ts in scheme_tags for t in ts})
        tokenizer = Tokenizer.from_config(cfg.tokenizer, False, cfg.user_dict)  # raw text at inference, case kept
        features = [Vocab.build(s.features[k] for s in train) for k in range(len(cfg.feature_columns))]
        task = cls(words, chars, tags, cfg.tag_scheme, cfg.lowercase, tokenizer, features)
        return task, replace(splits, labels=tags)

    @classmethod
    def from_files(cls, files: dict[str, Any], recipe: dict[str, Any]) -> "TaggingTask":
        t = files["tagging"]
        return cls(Vocab.from_dict(files["vocab"]), Vocab.from_dict(files["chars"]), t["tags"], t["scheme"],
                   t["lowercase"], Tokenizer.from_dict(files["tokenizer"]),
                   [Vocab.from_dict(v) for v in t.get("features", [])])

    @classmethod
    def load_split(cls, cfg: DataConfig, split: str, source: str = "<recipe>") -> list[TaggedSentence]:
        return read_tagged_splits(cfg, source).limited(cfg.limit, cfg.eval_limit).get(split)  # the run's own examples

    @classmethod
    def read_labelled_file(cls, cfg: DataConfig, path: str, data_format: str | None = None) -> list[TaggedSentence]:
        """A CoNLL / CoNLL-U file (``data_format``, or conllu by its name, else conll), read whole as the recipe
        reads its own (the same columns, features and tokens)."""
        cfg.dataset, cfg.train, cfg.dev, cfg.test = None, path, path, path
        cfg.limit = cfg.eval_limit = None
        cfg.format = data_format or ("conllu" if path.endswith((".conllu", ".conllu.gz")) else "conll")
        return cls.load_split(cfg, "test", path)

    def word_form(self) -> dict[str, Any]:
        """The tokenizer keeps the case (the character features see it); the words are lowercased on their own."""
        return {**self.tokenizer.to_dict(), "lowercase": self.lowercase}

    def files(self) -> dict[str, Any]:
        return {"vocab": self.vocab.to_dict(), "chars": self.chars.to_dict(), "tokenizer": self.tokenizer.to_dict(),
                "tagging": {"tags": self.tags, "scheme": self.scheme, "lowercase": self.lowercase,
                            "features": [v.to_dict() for v in self.features]}}

    @classmethod
    def score_export(cls, predictor: Any, examples: list, data: dict[str, Any], batch_size: int,
                     beam: int | None = None) -> dict[str, Any]:
        """The export's emissions decoded by its numpy Viterbi, 256 sentences at a time; empty sentences skipped."""
        sentences = [s for s in examples if s.tokens]
        predicted = [tags for start in range(0, len(sentences), 256)
                     for tags in predictor.tag([list(s.tokens) for s in sentences[start:start + 256]])]
        chunked = any(t.startswith(("B-", "S-")) for t in predictor.labels)
        return tag_scores([list(s.tags) for s in sentences], predicted, chunked)

    def onnx_graphs(self, model: nn.Module, name: str) -> dict[str, Any]:
        """``tasks/tagging/onnx.py``'s graphs (imported here: onnx only when exporting)."""
        from ...onnx_graph import ONNX_FILE
        from .onnx import graph

        return {ONNX_FILE: graph(model, name)}

    def export_metadata(self, model: nn.Module) -> dict[str, Any]:
        """Viterbi runs outside the graph, in numpy (``seqlab.search``), from the CRF's exported transitions."""
        return {"crf": model.crf.exported() if model.crf is not None else None,
                "char_features": model.cfg.char_features}

    def model_section(self, section: dict[str, Any]) -> dict[str, Any]:
        return {**section, "vocab_size": len(self.vocab), "char_vocab_size": len(self.chars), "tags": self.tags,
                "padding_idx": self.vocab.pad_id, "unk_idx": self.vocab.unk_id,
                "feature_sizes": [len(v) for v in self.features]}

    def output_labels(self) -> list[str] | None:
        return self.tags

    def text_input_problem(self) -> str | None:
        if not self.features:
            return None
        return (f"the model also reads {len(self.features)} CoNLL column(s) besides the words (data.feature_columns, "
                "e.g. POS tags), which plain text lacks; serve a tagger trained on words alone (e.g. "
                "recipes/conll2000-bilstm-crf-words.yaml)")

    # ---------------------------------------------------------------- data
    def encode(self, sentences: list[TaggedSentence]) -> TaggedSplit:
        ids, chars, tag_ids, feature_ids = [], [], [], []
        for s in sentences:
            if len(s.features) < len(self.features):
                raise ValueError(f"this model also reads {len(self.features)} input column(s) of the CoNLL file "
                                 f"(data.feature_columns, e.g. POS tags) that plain text lacks; evaluate it on CoNLL "
                                 f"files with `seqlab evaluate DIR --data FILE`")
            feature_ids.append([v.encode(s.features[k]) for k, v in enumerate(self.features)])
            ids.append(self.codec.word_ids(s.tokens))
            chars.append(self.codec.char_ids(s.tokens))
            tags = self._train_tags(s) if s.tags is not None else ()
            tag_ids.append([self.tag_ids.get(t, IGNORE_INDEX) for t in tags] or [IGNORE_INDEX] * len(s.tokens))
        return TaggedSplit(list(sentences), ids, chars, tag_ids, feature_ids)

    def batch_lengths(self, split: TaggedSplit) -> list[int]:
        return [len(s) for s in split.ids]

    def batches(self, split: TaggedSplit, batch_size: int, generator: torch.Generator | None = None,
                shuffle: bool = False, bucket: bool = True) -> Iterator[TaggingBatch]:
        for index in bucket_batches(self.batch_lengths(split), batch_size, generator, shuffle, bucket):
            ids, lengths = pad([split.ids[i] for i in index], self.vocab.pad_id)
            tags, _ = pad([split.tag_ids[i] for i in index], IGNORE_INDEX)
            T = ids.size(1)
            W = max(len(w) for i in index for w in split.chars[i])
            blank = [0] * W
            chars = torch.tensor([[w + blank[len(w):] for w in split.chars[i]] + [blank] * (T - len(split.chars[i]))
                                  for i in index])  # [B, T, W], one tensor per batch
            char_lengths = torch.tensor([[len(w) for w in split.chars[i]] + [0] * (T - len(split.chars[i]))
                                         for i in index])
            features = None
            if self.features:
                features = torch.stack([pad([split.feature_ids[i][k] for i in index], 0)[0]
                                        for k in range(len(self.features))], -1)  # [B, T, F]
            yield TaggingBatch(ids, lengths, chars, char_lengths, tags, index, features)

    # ---------------------------------------------------------------- model
    def _emissions(self, model: nn.Module, batch: TaggingBatch) -> torch.Tensor:
        return model(batch.ids, batch.lengths, batch.chars, batch.char_lengths, batch.features)

    def loss_count(self, model: nn.Module, batch: TaggingBatch) -> int:
        """Sentences under a CRF (a mean of sentence log-likelihoods), tagged tokens under a softmax."""
        return batch.ids.size(0) if model.crf is not None else int((batch.tags != IGNORE_INDEX).sum())

    def loss(self, model: nn.Module, batch: TaggingBatch) -> torch.Tensor:
        emissions = self._emissions(model, batch)
        if model.crf is not None:
            mask = lengths_to_mask(batch.lengths, batch.ids.size(1))
            return model.crf(emissions, batch.tags.clamp_min(0), mask).mean()
        return F.cross_entropy(emissions.flatten(0, 1), batch.tags.flatten(), ignore_index=IGNORE_INDEX)

    @torch.no_grad()
    def predict(self, model: nn.Module, batch: TaggingBatch) -> list[list[str]]:
        """Tag strings per sentence, in IOB2 when the model was trained on BIOES."""
        model.eval()
        batch = to_device(batch, device_of(model))
        emissions = self._emissions(model, batch)
        if model.crf is not None:
            paths = model.crf.decode(emissions, lengths_to_mask(batch.lengths, batch.ids.size(1)))
        else:
            best = emissions.argmax(-1)
            paths = [best[b, : int(n)].tolist() for b, n in enumerate(batch.lengths)]
        return [self.codec.tag_strings(p) for p in paths]

    def predict_split(self, model: nn.Module, split: TaggedSplit, batch_size: int = 256) -> list[list[str]]:
        out: list[list[str]] = [[] for _ in range(len(split))]
        for batch in self.batches(split, batch_size, shuffle=False):
            for i, tags in zip(batch.index, self.predict(model, batch)):
                out[i] = tags
        return out

    # ---------------------------------------------------------------- inference
    def input_tokens(self, text: str) -> list[str]:
        return self.codec.tokens(text)

    @torch.no_grad()
    def infer(self, model: nn.Module, texts: list[str], options: dict[str, Any]) -> list[dict[str, Any]]:
        """``{"text", "tokens", "tags", "spans"}`` per text; each span ``{"type", "first", "last", "start", "end",
        "text"}`` gives its tokens (inclusive) and characters in ``text`` (start/end None when the tokenizer
        changed a token beyond case)."""
        sentences = [TaggedSentence(tuple(self.codec.tokens(t))) for t in texts]
        keep = [i for i, s in enumerate(sentences) if s.tokens]
        tagged = self.predict_split(model, self.encode([sentences[i] for i in keep])) if keep else []
        out = [self.codec.output(t) for t in texts]
        for i, tags in zip(keep, tagged):
            out[i] = self.codec.output(texts[i], sentences[i].tokens, tags)
        return out

    def evaluate(self, model: nn.Module, split: TaggedSplit, batch_size: int = 256) -> dict[str, Any]:
        predicted = self.predict_split(model, split, batch_size)
        return tag_scores([list(s.tags) for s in split.sentences], predicted, self.chunked)
