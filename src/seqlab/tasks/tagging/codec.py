"""Tagging without torch: a text → its tokens, word ids and character ids as the tagger was trained on them; a
path of tag ids → tag strings (IOB2 when trained on BIOES) → the inference JSON with character spans. The torch
task (``task.py``) and the exported tagger (onnxruntime, ``seqlab.serving.onnx_predictor``) both go through it.

    word_ids(tokens) = words(lowercase? token)          char_ids(tokens) = chars(token[:20]) or [<unk>]
    output(text, tokens, tags) = {"text", "tokens", "tags", "spans": [{"type", "first", "last", "start", "end",
                                  "text"}]}  (start/end None where the tokenizer changed a token beyond case)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...data.tags import tag_spans, to_bio
from ...data.tokenizers import Tokenizer
from ...data.vocab import Vocab

RUNTIME = "tagger"  # how an export of this family runs (``seqlab.serving.onnx_predictor.RUNTIMES``)

MAX_WORD_CHARS = 20  # a word's characters read by the character features; longer words are cut


class TaggingCodec:
    def __init__(self, tokenizer: Tokenizer, words: Vocab, chars: Vocab, tags: Sequence[str], scheme: str = "bio",
                 lowercase: bool = True):
        self.tokenizer, self.words, self.chars, self.tags = tokenizer, words, chars, list(tags)
        self.scheme, self.lowercase = scheme, lowercase

    @classmethod
    def from_files(cls, files: dict[str, Any]) -> TaggingCodec:
        """From a model directory's (or an export's) ``tokenizer``, ``vocab``, ``chars`` and ``tagging`` files."""
        tagging = files["tagging"]
        return cls(Tokenizer.from_dict(files["tokenizer"]), Vocab.from_dict(files["vocab"]),
                   Vocab.from_dict(files["chars"]), tagging["tags"], tagging["scheme"], tagging["lowercase"])

    def tokens(self, text: str) -> list[str]:
        return self.tokenizer(text)

    def word_ids(self, tokens: Sequence[str]) -> list[int]:
        return self.words.encode([w.lower() if self.lowercase else w for w in tokens])

    def char_ids(self, tokens: Sequence[str]) -> list[list[int]]:
        return [self.chars.encode(list(w[:MAX_WORD_CHARS])) or [self.chars.unk_id] for w in tokens]

    def tag_strings(self, path: Sequence[int]) -> list[str]:
        """Tag ids → tags, converted to IOB2 when the model was trained on BIOES."""
        tags = [self.tags[i] for i in path]
        return to_bio(tags) if self.scheme == "bioes" else tags

    @staticmethod
    def output(text: str, tokens: Sequence[str] = (), tags: Sequence[str] = ()) -> dict[str, Any]:
        """The inference JSON of one text (a text without tokens: all lists empty)."""
        tokens, tags = list(tokens), list(tags)
        return {"text": text, "tokens": tokens, "tags": tags, "spans": tag_spans(text, tokens, tags) if tokens else []}


def summary(result: dict[str, Any]) -> str:
    """token/TAG for every token."""
    return " ".join(f"{token}/{tag}" for token, tag in zip(result["tokens"], result["tags"]))
