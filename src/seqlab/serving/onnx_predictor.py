"""Models exported by ``seqlab export --format onnx``, run by onnxruntime without importing torch.

``load_export(dir)`` reads ``export.json`` and ``model.onnx`` and returns, by the export's task:

* ``OnnxPredictor`` (a classifier): texts read and answered by the family's codec, the one
  ``ClassificationTask.infer`` uses (``tasks/classification/codec.py``) — ``{"text", "label", "probability",
  "probabilities", "truncated"}``;
* ``OnnxTagger``: the family's codec too (``tasks/tagging/codec.py``) — ``{"text", "tokens", "tags", "spans"}``;
  the graph gives emissions, the CRF's Viterbi runs in numpy (``seqlab.search``);
* ``OnnxSeq2Seq``: the same options and dicts as ``Seq2SeqTask.infer`` (n-best, scores, the attention beam search
  kept); ``encoder.onnx`` once per batch, ``decoder.onnx`` per step, beam search in numpy (``seqlab.search``);
* ``OnnxLanguageModel``: the same options and dicts as ``LanguageModelTask.infer`` (and ``stream``); the graph
  runs one step with its state, sampling runs in numpy — greedy text equals the torch model's, sampled text for
  a seed differs from torch's (another random generator), with the same distribution.

Every family's texts are read and its answers written by the family's codec (``tasks/<family>/codec.py``), the
code its torch task uses; what is here is running the graphs (batches, state, the numpy searches).
"""

from __future__ import annotations

import json
import warnings
import threading
from pathlib import Path
from typing import Any

import numpy as np

from .. import metrics
from .. import cancel
from .. import manifest as checksums
from ..options import GENERATION, SEQ2SEQ, Option
from ..textstream import StopStream
from ..data.tokenizers import Tokenizer
from ..data.vocab import Vocab
from ..search import beam_search, viterbi
from ..tasks import TASKS, codec_of
from ..tasks.classification.codec import ClassificationCodec
from ..tasks.language_model.codec import LanguageModelCodec, choose
from ..tasks.seq2seq.codec import Seq2SeqCodec
from ..tasks.tagging.codec import TaggingCodec
from .base import BasePredictor, Limits, default_name

EXPORT_JSON, ONNX_FILE = "export.json", "model.onnx"


def is_export(path: str | Path) -> bool:
    return (Path(path) / EXPORT_JSON).is_file()


def read_export(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads((path / EXPORT_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{path / EXPORT_JSON}: not a readable export description ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != "onnx" or runtime_of(meta.get("task")) is None:
        raise ValueError(f"{path / EXPORT_JSON}: expected an ONNX export of a "
                         f"{', '.join(name for name in TASKS if runtime_of(name))} model")
    if "manifest" in meta:  # every graph checked against its size and sha256 at export
        listed = meta["manifest"]
        found = checksums.problem(path, listed, sorted(listed) if isinstance(listed, dict) else [], str(path / EXPORT_JSON))
        if found:
            raise ValueError(found)
    else:
        warnings.warn(f"{path}: export.json has no manifest (exported by an older seqlab), so its graphs are not "
                      "checked against what was exported; export it again to add one", stacklevel=2)
    return meta


def load_export(path: str | Path, limits: Limits = Limits(), name: str | None = None, threads: int = 0) -> BasePredictor:
    """The predictor for the export in ``path``, by its task."""
    meta = read_export(Path(path))
    return RUNTIMES[runtime_of(meta["task"])](path, limits, name, threads)


def runtime_of(task: Any) -> str | None:
    """How an export of ``task`` runs: its family codec's ``RUNTIME`` (a key of ``RUNTIMES``), None if it does not."""
    return codec_of(task).RUNTIME if isinstance(task, str) and task in TASKS else None


def _session(path: Path, threads: int, file: str = ONNX_FILE):
    try:
        import onnxruntime as ort
    except ImportError:
        raise ValueError("running an exported model needs onnxruntime: pip install 'seqlab[onnx]'") from None
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path / file), options, providers=["CPUExecutionProvider"])


class OnnxModel(BasePredictor):
    """What every exported model shares: its export.json, name, limits, lock and description."""

    labels: list[str] | None = None

    def __init__(self, export_dir: str | Path, limits: Limits, name: str | None, runtime: str):
        self.path = Path(export_dir)
        self.meta = read_export(self.path)
        if runtime_of(self.meta["task"]) != runtime:
            raise ValueError(f"{self.path / EXPORT_JSON}: a {self.meta['task']} export does not run as a {runtime} "
                             "(use load_export)")
        self.limits, self.name, self.task_name = limits, name or default_name(export_dir), self.meta["task"]
        self._lock = threading.Lock()

    def describe(self) -> dict[str, Any]:
        data = self.meta.get("data") or {}
        vocab = getattr(self, "vocab", None) or getattr(self, "src_vocab", None)
        return {"name": self.name, "task": self.task_name, "labels": self.labels, "parameters": None,
                "vocab_size": len(vocab) if vocab is not None else None, "model": self.meta.get("model"),
                "data": data.get("dataset") or data.get("train"),
                "runtime": "onnxruntime" + (" int8" if self.meta.get("int8") else ""),
                "options": self.option_table(), "limits": self.limit_table()}


class OnnxPredictor(OnnxModel):
    """A classifier: texts read and answered through the family's codec (``tasks/classification/codec.py``), the
    graph in between."""

    def __init__(self, export_dir: str | Path, limits: Limits = Limits(), name: str | None = None, threads: int = 0):
        super().__init__(export_dir, limits, name, "classifier")
        self.codec = ClassificationCodec.from_files(self.meta["files"], self.meta.get("max_length"))
        self.labels, self.vocab = self.codec.labels, self.codec.vocab
        self.session = _session(self.path, threads)

    def input_tokens(self, text: str) -> list[str]:
        return self.codec.tokens(text)

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        return self.codec.padded([self.codec.ids(t) for t in texts])

    def probabilities(self, texts: list[str], batch_size: int = 256) -> np.ndarray:
        rows = [self.codec.ids(t) for t in texts]  # each text tokenised once
        order = sorted(range(len(texts)), key=lambda i: len(rows[i]))  # length buckets
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            ids, lengths = self.codec.padded([rows[i] for i in index])
            with self._lock:
                (probs,) = self.session.run(["probabilities"], {"ids": ids, "lengths": lengths})
            out[index] = probs
        return out

    def predict(self, inputs: str | list[str], options: dict[str, Any] | None = None, **more: Any) -> list[dict[str, Any]]:
        texts, _ = self.checked(inputs, options, more)
        return [self.codec.output(text, row) for text, row in zip(texts, self.probabilities(texts).tolist())]

    def evaluate(self, texts: list[str], labels: list[str], batch_size: int = 256) -> dict[str, Any]:
        """Accuracy and macro-F1 on labelled texts, as ``ClassificationTask.evaluate`` computes them."""
        unknown = sorted(set(labels) - set(self.labels))
        if unknown:
            raise ValueError(f"label {unknown[0]!r} was not seen in training (known: {', '.join(self.labels)})")
        predicted = self.probabilities(texts, batch_size).argmax(-1).tolist() if texts else []
        gold = [self.labels.index(label) for label in labels]
        report = metrics.classification_report(gold, predicted, self.labels)
        return {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"], "n": len(texts)}


class OnnxTagger(OnnxModel):
    """A tagger: texts read and answered through the family's codec (``tasks/tagging/codec.py``), the graph's
    emissions decoded by the CRF's Viterbi in numpy (``seqlab.search``)."""

    def __init__(self, export_dir: str | Path, limits: Limits = Limits(), name: str | None = None, threads: int = 0):
        super().__init__(export_dir, limits, name, "tagger")
        self.codec = TaggingCodec.from_files(self.meta["files"])
        self.labels, self.vocab = self.codec.tags, self.codec.words
        crf = self.meta.get("crf")
        self.crf = None
        if crf is not None:
            n = crf["tags"]

            def array(values: list) -> np.ndarray:
                return np.array([-np.inf if v is None else v for v in values], dtype=np.float32)

            self.crf = (array(crf["transitions"]).reshape(n, n), array(crf["start"]), array(crf["end"]))
        self.session = _session(self.path, threads)

    def input_tokens(self, text: str) -> list[str]:
        return self.codec.tokens(text)

    def tag(self, sentences: list[list[str]]) -> list[list[str]]:
        """IOB2 tags of tokenised sentences (none empty), run in one padded batch."""
        B, T = len(sentences), max(len(s) for s in sentences)
        words = [self.codec.char_ids(s) for s in sentences]
        W = max(len(w) for s in words for w in s)
        ids = np.full((B, T), self.codec.words.pad_id, dtype=np.int64)
        chars = np.zeros((B, T, W), dtype=np.int64)
        char_lengths = np.zeros((B, T), dtype=np.int64)
        for b, (tokens, ws) in enumerate(zip(sentences, words)):
            ids[b, : len(tokens)] = self.codec.word_ids(tokens)
            for t, w in enumerate(ws):
                chars[b, t, : len(w)] = w
                char_lengths[b, t] = len(w)
        lengths = np.array([len(s) for s in sentences], dtype=np.int64)
        feeds = {"ids": ids, "lengths": lengths, "chars": chars, "char_lengths": char_lengths}
        wanted = {i.name for i in self.session.get_inputs()}
        with self._lock:
            (emissions,) = self.session.run(["emissions"], {k: v for k, v in feeds.items() if k in wanted})
        keep = np.arange(T)[None, :] < lengths[:, None]
        paths = viterbi(emissions, keep, *self.crf) if self.crf is not None else \
            [emissions[b, : lengths[b]].argmax(-1).tolist() for b in range(B)]
        return [self.codec.tag_strings(p) for p in paths]

    def predict(self, inputs: str | list[str], options: dict[str, Any] | None = None, **more: Any) -> list[dict[str, Any]]:
        texts, _ = self.checked(inputs, options, more)
        sentences = [self.codec.tokens(t) for t in texts]
        keep = [i for i, s in enumerate(sentences) if s]
        out = [self.codec.output(t) for t in texts]
        order = sorted(keep, key=lambda i: len(sentences[i]))  # length buckets of 256
        for start in range(0, len(order), 256):
            index = order[start:start + 256]
            for i, tags in zip(index, self.tag([sentences[i] for i in index])):
                out[i] = self.codec.output(texts[i], sentences[i], tags)
        return out


class OnnxLanguageModel(OnnxModel):
    empty_input_ok = True

    def __init__(self, export_dir: str | Path, limits: Limits = Limits(), name: str | None = None, threads: int = 0):
        super().__init__(export_dir, limits, name, "language_model")
        files = self.meta["files"]
        self.codec = LanguageModelCodec(Tokenizer.from_dict(files["tokenizer"]), Vocab.from_dict(files["vocab"]),
                                        files["language_model"]["conditions"])
        self.vocab, self.conditions = self.codec.vocab, self.codec.conditions
        self.state = self.meta["state"]
        self.session = _session(self.path, threads)
        self.labels = self.conditions or None

    def options(self) -> dict[str, Option]:
        return GENERATION

    def input_tokens(self, text: str) -> list[str]:
        return self.codec.tokens(text)

    def _step(self, ids: list[int], state: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        feeds = {"ids": np.array([ids], dtype=np.int64), **state}
        names = [o.name for o in self.session.get_outputs()]
        out = dict(zip(names, self.session.run(names, feeds)))
        new = {"h0": out["h_n"], **({"c0": out["c_n"]} if "c_n" in out else {})}
        if "condition" in state:
            new["condition"] = state["condition"]
        return out["logits"][0, -1], new

    def generate(self, prompt: str, options: dict[str, Any], on_text=None) -> dict[str, Any]:
        """``LanguageModelTask.generate``'s loop, in numpy."""
        condition = options["condition"]
        state = {"h0": np.zeros((self.state["layers"], 1, self.state["hidden_size"]), np.float32)}
        if self.state["cell"] == "lstm":
            state["c0"] = state["h0"].copy()
        if self.conditions:
            if condition not in self.conditions:
                raise ValueError(f"give a condition, one of: {', '.join(self.conditions)} (got {condition!r})")
            state["condition"] = np.array([self.conditions.index(condition)], np.int64)
        elif condition is not None:
            raise ValueError("this model is not conditional; it takes no condition")
        eos = self.vocab.eos_id if (options["eos_stop"] or self.conditions) else None
        rng = np.random.default_rng(options["seed"])
        stream = StopStream(options["stop"] or [], on_text)
        produced: list[int] = []
        with self._lock:
            logits, state = self._step(self.codec.start_ids(prompt), state)
            for _ in range(options["max_tokens"]):
                cancel.check()  # a server's request: stop here if its client left or its deadline passed
                logits = logits.copy()
                logits[[self.vocab.pad_id, self.vocab.bos_id]] = -np.inf
                token = choose(logits, options, rng)
                if token == eos:
                    break
                produced.append(token)
                if stream.update(self.codec.continuation(prompt, produced)):
                    break
                logits, state = self._step([token], state)
        return {"prompt": prompt, "text": stream.finish(), "seed": options["seed"], "condition": condition}

    def predict(self, inputs: str | list[str], options: dict[str, Any] | None = None, **more: Any) -> list[dict[str, Any]]:
        texts, checked = self.checked(inputs, options, more)
        return [self.generate(t, checked) for t in texts]

    def stream(self, text: str, options: dict[str, Any] | None = None, token: cancel.Token | None = None):
        """As ``Predictor.stream``: ``{"text": piece}`` events, then ``{"result": …}`` or ``{"error": …}``."""
        (prompt,), checked = self.checked([text], options)
        return self.stream_with(lambda on_text: self.generate(prompt, checked, on_text), token)


SEQ2SEQ_OPTIONS = SEQ2SEQ


NEXT = {"h_n": "h0", "c_n": "c0"}  # a decoder step's output → the state it updates (others: drop the _n)


class OnnxSeq2Seq(OnnxModel):
    def __init__(self, export_dir: str | Path, limits: Limits = Limits(), name: str | None = None, threads: int = 0):
        super().__init__(export_dir, limits, name, "seq2seq")
        self.codec = Seq2SeqCodec.from_files(self.meta["files"])
        self.src_vocab, self.tgt_vocab = self.codec.src_vocab, self.codec.tgt_vocab
        self.decoding = self.meta["decoding"]
        self.encoder = _session(self.path, threads, "encoder.onnx")
        self.decoder = _session(self.path, threads, "decoder.onnx")
        self.step_inputs = {i.name for i in self.decoder.get_inputs()}
        self.step_outputs = [o.name for o in self.decoder.get_outputs()]

    @property
    def default_beam(self) -> int:
        return self.decoding["beam"]

    def options(self) -> dict[str, Option]:
        return SEQ2SEQ_OPTIONS

    def input_tokens(self, text: str) -> list[str]:
        return self.codec.tokens(text)


    def _step(self, state: dict[str, np.ndarray], tokens: np.ndarray):
        feeds = {k: v for k, v in state.items() if k in self.step_inputs}
        out = dict(zip(self.step_outputs, self.decoder.run(self.step_outputs, {**feeds, "token": tokens.astype(np.int64)})))
        # every X_n output is the next step's X (h_n → h0, c_n → c0 for the recurrent states)
        state = {**state, **{NEXT.get(k, k[:-2]): v for k, v in out.items() if k.endswith("_n")}}
        return out["logits"], state, out.get("weights")

    @staticmethod
    def _reorder(state: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
        return {k: (v[:, rows] if k in ("h0", "c0") else v[rows]) for k, v in state.items()}

    def predict(self, inputs: str | list[str], options: dict[str, Any] | None = None, **more: Any) -> list[dict[str, Any]]:
        texts, checked = self.checked(inputs, options, more)
        beam, n_best = checked["beam"] or self.decoding["beam"], checked["n_best"]
        if n_best > beam:
            raise ValueError(f"options.n_best: {n_best} needs a beam of at least {n_best} (beam is {beam})")
        ids = [self.codec.source_ids(t) for t in texts]
        lengths = np.array([len(r) for r in ids], dtype=np.int64)
        src = np.full((len(ids), int(lengths.max())), self.src_vocab.pad_id, dtype=np.int64)
        for i, r in enumerate(ids):
            src[i, : len(r)] = r
        keep = checked["attention"]
        with self._lock:
            names = [o.name for o in self.encoder.get_outputs()]
            state = dict(zip(names, self.encoder.run(names, {"src": src, "lengths": lengths})))
            if keep and "weights" not in self.step_outputs:
                raise ValueError("options.attention: this model has no attention")
            if self.decoding["input_feeding"]:
                state["feed"] = np.zeros((len(ids), self.decoding["hidden_size"]), np.float32)
            cache = self.decoding.get("cache")
            if cache:  # the Transformer's key/value cache starts empty
                empty = np.zeros((len(ids), cache["heads"], 0, cache["d_k"]), np.float32)
                state.update({f"{kind}{i}": empty for i in range(cache["layers"]) for kind in ("k", "v")})
                state["prefix_mask"] = np.zeros((len(ids), 0), bool)
            limits = (lengths.astype(np.float32) * np.float32(self.decoding["max_ratio"])).astype(np.int64) + 5
            first = np.full(len(ids), self.tgt_vocab.bos_id, dtype=np.int64)
            found = beam_search(self._step, self._reorder, state, first, beam, self.tgt_vocab.eos_id, limits,
                                checked["penalty"], n_best, keep)
        return self.codec.outputs(texts, ids, found, keep)


#: an exported family's runtime (its codec's ``RUNTIME``) → the class that runs it
RUNTIMES = {"classifier": OnnxPredictor, "tagger": OnnxTagger, "language_model": OnnxLanguageModel,
            "seq2seq": OnnxSeq2Seq}
