"""Sequence to sequence (N → M): grapheme-to-phoneme conversion and translation.

Examples are (source text, target text) pairs (``TextExample.text`` / ``.label``): a registry dataset
(``cmudict``, ``multi30k``, ``tatoeba-spa-eng``), a TSV with a header (``text_field`` / ``label_field`` name
the source and target columns), or two aligned files per split (``format: aligned``, ``train: a.de,a.en``). Source and target have their own tokenizer and vocabulary
(``data.tokenizer`` / ``data.target_tokenizer``).

Training: cross-entropy over ``y₁ … y_n <eos>`` given ``<bos> y₁ … y_n``, with label smoothing and teacher
forcing from the model's config; where the ratio is < 1 the task draws, per batch and step, whether the gold
token is fed, from its own generator seeded by ``data.split_seed``.

Evaluation decodes (batched; greedy, or beam search with ``data.beam`` > 1; at most ``data.max_ratio`` × the
source length + 5 tokens) and scores by ``data.metric``: ``g2p`` — word and phoneme error rates over the
distinct source words, any accepted pronunciation counting as right; ``bleu`` — sacreBLEU and chrF on the
detokenised hypotheses against the raw reference texts. Monitor ``wer`` (mode min) or ``bleu``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ... import metrics, runtime
from ...config import ConfigError, DataConfig
from ...data.batching import IGNORE_INDEX, bucket_batches, device_of, pad, teacher_forcing
from ...data.datasets import Splits, load_splits
from ...data.splits import resolve_splits
from ...data.readers import DataFormatError, TextExample, read_examples, read_lines
from ...data.tokenizers import Tokenizer
from ...data.vocab import Vocab
from ...decoding import beam_search

from ...options import SEQ2SEQ
from ..base import Task, checked_vocab
from .codec import Seq2SeqCodec


@dataclass
class PairSplit:
    sources: list[str]
    targets: list[str]
    src_ids: list[list[int]]
    tgt_ids: list[list[int]]

    def __len__(self) -> int:
        return len(self.src_ids)

    def subset(self, rows: list[int]) -> "PairSplit":
        return PairSplit([self.sources[i] for i in rows], [self.targets[i] for i in rows],
                         [self.src_ids[i] for i in rows], [self.tgt_ids[i] for i in rows])


@dataclass
class PairBatch:
    src: torch.Tensor  # [B, S]
    src_lengths: torch.Tensor  # [B]
    tgt_in: torch.Tensor  # [B, T] <bos> y₁ … y_n
    tgt_out: torch.Tensor  # [B, T] y₁ … y_n <eos>, IGNORE_INDEX on padding
    index: list[int]

    @property
    def n_tokens(self) -> int:
        return int((self.tgt_out != IGNORE_INDEX).sum())


def read_pair_splits(cfg: DataConfig, source: str = "<recipe>") -> Splits:
    if cfg.dataset:
        return load_splits(cfg.dataset, cfg)
    if cfg.format == "aligned":
        read = lambda p: read_aligned(p, source, cfg.encoding)  # noqa: E731
    else:
        read = lambda p: read_examples(p, cfg.format, cfg.text_field, cfg.label_field, cfg.encoding)  # noqa: E731
    return resolve_splits(cfg, read, source, test="required", dev="required", what="source/target pairs")


def read_aligned(spec: str, source: str = "<recipe>", encoding: str = "utf-8") -> list[TextExample]:
    """``format: aligned``: "SOURCE_FILE,TARGET_FILE", line i of one the translation of line i of the other."""
    parts = spec.split(",")
    if len(parts) != 2:
        raise ConfigError(f"{source}: data: aligned files are given as 'source_file,target_file', got {spec!r}")
    sources, targets = read_lines(parts[0].strip(), encoding), read_lines(parts[1].strip(), encoding)
    if len(sources) != len(targets):
        raise DataFormatError(f"{parts[1].strip()}: {len(targets)} lines, but {parts[0].strip()} has {len(sources)}; "
                              "aligned files need one line per pair")
    return [TextExample(a, b) for a, b in zip(sources, targets)]


@dataclass
class Seq2SeqData(DataConfig):
    """``data:`` of a seq2seq recipe: the shared fields, the target side's tokenizer and how evaluation decodes."""

    target_tokenizer: str | None = None  # the target side's tokenizer (default: tokenizer)
    metric: str = "bleu"  # bleu (sacreBLEU + chrF) or g2p (word / phoneme error rates)
    beam: int = 1  # evaluation: 1 = greedy, K > 1 = beam search
    max_ratio: float = 2.0  # decoding: at most max_ratio × source length + 5 tokens

    def default_monitor(self) -> str:
        return "wer" if self.metric == "g2p" else "bleu"


class Seq2SeqTask(Task):
    name = "seq2seq"
    ensembles = True
    paired_texts = True
    data_config = Seq2SeqData

    def __init__(self, src_tokenizer: Tokenizer, tgt_tokenizer: Tokenizer, src_vocab: Vocab, tgt_vocab: Vocab,
                 metric: str = "bleu", beam: int = 1, max_ratio: float = 2.0, seed: int = 1234):
        if metric not in ("bleu", "g2p"):
            raise ValueError(f"data.metric must be bleu or g2p, got {metric!r}")
        self.src_tokenizer, self.tgt_tokenizer = src_tokenizer, tgt_tokenizer
        self.codec = Seq2SeqCodec(src_tokenizer, tgt_tokenizer, src_vocab, tgt_vocab)  # text ↔ ids ↔ JSON, torch-free
        self.src_vocab, self.tgt_vocab = src_vocab, tgt_vocab
        self.vocab = src_vocab  # what `train` reports and pretrained vectors align to
        self.metric, self.beam, self.max_ratio = metric, beam, max_ratio
        self.generator = torch.Generator().manual_seed(seed)  # teacher-forcing draws

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_recipe(cls, cfg: DataConfig, source: str = "<recipe>") -> tuple["Seq2SeqTask", Splits]:
        splits = read_pair_splits(cfg, source).limited(cfg.limit, cfg.eval_limit)
        train = splits.train
        target = cfg.target_tokenizer or cfg.tokenizer
        src_tok = Tokenizer.from_config(cfg.tokenizer, cfg.lowercase, cfg.user_dict)
        tgt_tok = Tokenizer.from_config(target, cfg.lowercase, cfg.user_dict if target == "jieba" else None)
        src_vocab = checked_vocab(Vocab.build((src_tok(ex.text) for ex in train), cfg.min_freq, cfg.max_size),
                                  len(train), cfg, source, "source texts")
        tgt_vocab = checked_vocab(Vocab.build((tgt_tok(ex.label) for ex in train), cfg.min_freq, cfg.max_size),
                                  len(train), cfg, source, "target texts")
        task = cls(src_tok, tgt_tok, src_vocab, tgt_vocab, cfg.metric, cfg.beam, cfg.max_ratio, cfg.split_seed)
        return task, replace(splits, labels=[])

    @classmethod
    def from_files(cls, files: dict[str, Any], recipe: dict[str, Any]) -> "Seq2SeqTask":
        s = files["seq2seq"]
        return cls(Tokenizer.from_dict(s["source_tokenizer"]), Tokenizer.from_dict(s["target_tokenizer"]),
                   Vocab.from_dict(s["source_vocab"]), Vocab.from_dict(s["target_vocab"]), s["metric"], s["beam"],
                   s["max_ratio"])

    @classmethod
    def load_split(cls, cfg: DataConfig, split: str, source: str = "<recipe>") -> list[TextExample]:
        return read_pair_splits(cfg, source).limited(cfg.limit, cfg.eval_limit).get(split)  # the run's own examples

    def files(self) -> dict[str, Any]:
        return {"seq2seq": {"source_tokenizer": self.src_tokenizer.to_dict(), "target_tokenizer": self.tgt_tokenizer.to_dict(),
                            "source_vocab": self.src_vocab.to_dict(), "target_vocab": self.tgt_vocab.to_dict(),
                            "metric": self.metric, "beam": self.beam, "max_ratio": self.max_ratio}}

    @classmethod
    def score_export(cls, predictor: Any, examples: list, data: dict[str, Any], batch_size: int,
                     beam: int | None = None) -> dict[str, Any]:
        """BLEU or G2P error rates (``score``) of the export's numpy beam search, 64 sources at a time."""
        task = cls.from_files(predictor.meta["files"], {"data": data})
        encoded = task.encode(examples)
        task.beam = beam or task.beam
        options = {"beam": task.beam}

        def translate(rows: list[int]) -> list[str]:
            chunks = [rows[i:i + 64] for i in range(0, len(rows), 64)]
            return [out["hypotheses"][0]["text"]
                    for chunk in runtime.progress(chunks, len(chunks), f"decoding (beam {task.beam})")
                    for out in predictor.predict([encoded.sources[i] for i in chunk], options)]

        return task.score(encoded, translate)

    def onnx_graphs(self, model: nn.Module, name: str) -> dict[str, Any]:
        """``tasks/seq2seq/onnx.py``'s graphs (imported here: onnx only when exporting)."""
        from .onnx import graphs

        return graphs(model, name)

    def export_metadata(self, model: nn.Module) -> dict[str, Any]:
        """Beam search runs in numpy over the exported decoder step: its settings and the step's state sizes
        (the Transformer's key/value cache, or the recurrent decoder's state)."""
        cfg = model.cfg
        decoding: dict[str, Any] = {"beam": self.beam, "max_ratio": self.max_ratio}
        if cfg.name == "transformer":
            decoding.update(input_feeding=False,
                            cache={"layers": cfg.layers, "heads": cfg.heads, "d_k": cfg.d_model // cfg.heads})
        else:
            decoding.update(hidden_size=cfg.hidden_size, layers=cfg.num_layers, input_feeding=cfg.input_feeding)
        return {"decoding": decoding}

    def model_section(self, section: dict[str, Any]) -> dict[str, Any]:
        return {**section, "src_vocab_size": len(self.src_vocab), "tgt_vocab_size": len(self.tgt_vocab),
                "padding_idx": self.src_vocab.pad_id}

    # ---------------------------------------------------------------- data
    def source_ids(self, text: str) -> list[int]:
        return self.codec.source_ids(text)

    def encode(self, examples: list[TextExample]) -> PairSplit:
        return PairSplit([ex.text for ex in examples], [ex.label or "" for ex in examples],
                         [self.source_ids(ex.text) for ex in examples],
                         [self.tgt_vocab.encode(self.tgt_tokenizer(ex.label or "")) for ex in examples])

    def batch_lengths(self, split: PairSplit) -> list[int]:
        return [len(s) for s in split.src_ids]

    def batches(self, split: PairSplit, batch_size: int, generator: torch.Generator | None = None,
                shuffle: bool = False, bucket: bool = True) -> Iterator[PairBatch]:
        v = self.tgt_vocab
        for index in bucket_batches(self.batch_lengths(split), batch_size, generator, shuffle, bucket):
            src, lengths = pad([split.src_ids[i] for i in index], self.src_vocab.pad_id)
            tgt_in, tgt_out = teacher_forcing([split.tgt_ids[i] for i in index], v.pad_id, v.bos_id, v.eos_id)
            yield PairBatch(src, lengths, tgt_in, tgt_out, index)

    # ---------------------------------------------------------------- model
    def loss_count(self, model: nn.Module, batch) -> int:
        return batch.n_tokens  # a mean over the target tokens

    def loss(self, model: nn.Module, batch: PairBatch) -> torch.Tensor:
        ratio = getattr(model.cfg, "teacher_forcing", 1.0)
        teacher = None
        if ratio < 1.0:
            teacher = torch.rand(batch.tgt_in.size(1), generator=self.generator) < ratio
        logits = model(batch.src, batch.src_lengths, batch.tgt_in, teacher)
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), batch.tgt_out.reshape(-1), ignore_index=IGNORE_INDEX,
                               label_smoothing=getattr(model.cfg, "label_smoothing", 0.0))

    def detokenize(self, ids: list[int]) -> str:
        return self.codec.text(ids)

    @torch.no_grad()
    def decode(self, model: nn.Module, src: torch.Tensor, lengths: torch.Tensor, beam: int | None = None,
               n_best: int = 1, penalty: str = "average", keep_alignment: bool = False):
        """Hypotheses (``decoding.Hypothesis``, best first) per source row, and the decoder's final state."""
        model.eval()
        beam = beam or self.beam
        src, lengths = src.to(device_of(model)), lengths.to(device_of(model))
        state = model.start(src.size(0), (src, lengths))
        prompt = torch.full((src.size(0), 1), self.tgt_vocab.bos_id, device=src.device)
        limits = (lengths.float() * self.max_ratio).long() + 5
        return beam_search(model, state, prompt, beam, self.tgt_vocab.eos_id, limits, penalty, n_best=n_best,
                           keep_alignment=keep_alignment)

    # ---------------------------------------------------------------- inference
    infer_options = SEQ2SEQ

    def input_tokens(self, text: str) -> list[str]:
        return self.codec.tokens(text)

    def infer(self, model: nn.Module, texts: list[str], options: dict[str, Any]) -> list[dict[str, Any]]:
        """``{"source", "source_tokens", "hypotheses": [{"text", "tokens", "log_prob", "score", "finished"}]}`` per
        text; with ``attention``, each hypothesis also has ``attention``: ``{"source", "target", "weights"}`` with a
        row of source weights per target token (``<eos>`` included when it ended), from the search itself."""
        beam = options.get("beam") or self.beam
        n_best = options.get("n_best", 1)
        if n_best > beam:
            raise ValueError(f"options.n_best: {n_best} needs a beam of at least {n_best} (beam is {beam})")
        ids = [self.source_ids(t) for t in texts]
        src, lengths = pad(ids, self.src_vocab.pad_id)
        keep = bool(options.get("attention"))
        if keep and getattr(model.cfg, "attention", "transformer") == "none":
            raise ValueError("options.attention: this model has no attention")
        found = self.decode(model, src, lengths, beam, n_best, options.get("penalty", "average"), keep_alignment=keep)
        return self.codec.outputs(texts, ids, found, keep)

    def predict(self, model: nn.Module, batch: PairBatch) -> list[str]:
        return [self.detokenize(h[0].tokens) for h in self.decode(model, batch.src, batch.src_lengths)]

    def predict_split(self, model: nn.Module, split: PairSplit, batch_size: int = 64, beam: int | None = None) -> list[str]:
        out: list[str] = [""] * len(split)
        batches = list(self.batches(split, batch_size))
        for batch in runtime.progress(batches, len(batches), f"decoding (beam {beam or self.beam})"):
            for i, hyps in zip(batch.index, self.decode(model, batch.src, batch.src_lengths, beam)):
                out[i] = self.detokenize(hyps[0].tokens)
        return out

    def evaluate(self, model: nn.Module, split: PairSplit, batch_size: int = 64) -> dict[str, Any]:
        return self.score(split, lambda rows: self.predict_split(model, split.subset(rows), batch_size))

    def score(self, split: PairSplit, translate: Callable[[list[int]], list[str]]) -> dict[str, Any]:
        """The split's metric, with ``translate(rows)`` giving the detokenised output for those rows of the split
        (the trained model's decoder or an exported one). G2P: one decode per word, however many pronunciations
        it has; WER / PER against the closest. Otherwise corpus BLEU and chrF (sacreBLEU)."""
        if self.metric == "g2p":
            references: dict[str, list[list[str]]] = defaultdict(list)
            first: dict[str, int] = {}
            for i, (src, tgt) in enumerate(zip(split.sources, split.targets)):
                references[src].append(tgt.split())
                first.setdefault(src, i)
            rows = list(first.values())
            predicted = translate(rows)
            scores = metrics.g2p_error_rates(references, {split.sources[i]: h.split() for i, h in zip(rows, predicted)})
        else:
            scores = metrics.corpus_bleu(translate(list(range(len(split)))), split.targets)
        return {**scores, "n": len(split), "beam": self.beam}
