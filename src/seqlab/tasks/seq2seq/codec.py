"""Seq2seq without torch: a source text → the ids the encoder reads, a batch's hypotheses → the inference JSON
(``Seq2SeqCodec``, used by the torch task and the exported model alike), and one result as lines for the terminal.
The option table, shared with the exported model, is ``seqlab.options.SEQ2SEQ``.

    source_ids(text) = src_vocab(src_tokenizer(text)), or [<unk>] for an empty text
    text(ids)        = target tokens joined ("" for characters, " " for words)
"""

from __future__ import annotations

from typing import Any

from ...data.tokenizers import Tokenizer
from ...data.vocab import Vocab
from ...search import hypotheses_json

RUNTIME = "seq2seq"  # how an export of this family runs (``seqlab.serving.onnx_predictor.RUNTIMES``)


class Seq2SeqCodec:
    def __init__(self, src_tokenizer: Tokenizer, tgt_tokenizer: Tokenizer, src_vocab: Vocab, tgt_vocab: Vocab):
        self.src_tokenizer, self.tgt_tokenizer, self.src_vocab, self.tgt_vocab = (src_tokenizer, tgt_tokenizer,
                                                                                  src_vocab, tgt_vocab)
        self.joiner = "" if tgt_tokenizer.name == "character" else " "

    @classmethod
    def from_files(cls, files: dict[str, Any]) -> Seq2SeqCodec:
        """From a model directory's (or an export's) ``seq2seq`` file."""
        s = files["seq2seq"]
        return cls(Tokenizer.from_dict(s["source_tokenizer"]), Tokenizer.from_dict(s["target_tokenizer"]),
                   Vocab.from_dict(s["source_vocab"]), Vocab.from_dict(s["target_vocab"]))

    def tokens(self, text: str) -> list[str]:
        return self.src_tokenizer(text)

    def source_ids(self, text: str) -> list[int]:
        return self.src_vocab.encode(self.src_tokenizer(text)) or [self.src_vocab.unk_id]

    def text(self, ids: list[int]) -> str:
        return self.joiner.join(self.tgt_vocab.itos[i] for i in ids)

    def outputs(self, texts: list[str], ids: list[list[int]], found: list, keep_alignment: bool) -> list[dict[str, Any]]:
        """The inference JSON of each source text from its beam's hypotheses (``seqlab.search.hypotheses_json``)."""
        return [hypotheses_json(text, row_ids, hyps, self.src_vocab.itos, self.tgt_vocab.itos, self.joiner,
                                keep_alignment) for text, row_ids, hyps in zip(texts, ids, found)]


def summary(result: dict[str, Any]) -> str:
    """The best hypothesis; with several (``n_best``), one line each with its score."""
    hypotheses = result["hypotheses"]
    if len(hypotheses) > 1:
        return "\n".join(f"{h['score']:8.3f}  {h['text']}" for h in hypotheses)
    return hypotheses[0]["text"]
