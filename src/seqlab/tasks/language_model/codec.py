"""Language models without torch: a prompt → the ids the model starts from, generated ids → text
(``LanguageModelCodec``, used by the torch task and the exported model alike); the next token from a row of logits
by the same rules as ``seqlab.decoding.sampling`` (temperature, then top-k, then top-p; greedy takes the argmax), in
numpy, for the exported model; and one result as a line for the terminal.

    start_ids(prompt) = [<bos> if conditional else line end, *vocab(tokenizer(prompt))]
    text(ids)         = tokens joined ("" for characters, " " for words), <eos> as a line break (unconditional)

    z = logits / T;  z_i = -inf where z_i < k-th largest;  keep the smallest set of tokens whose probability
    reaches p (the most likely always kept);  token ~ softmax(z)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...data.tokenizers import Tokenizer
from ...data.vocab import Vocab

RUNTIME = "language_model"  # how an export of this family runs (``seqlab.serving.onnx_predictor.RUNTIMES``)


class LanguageModelCodec:
    def __init__(self, tokenizer: Tokenizer, vocab: Vocab, conditions: list[str] | None = None):
        self.tokenizer, self.vocab, self.conditions = tokenizer, vocab, list(conditions or [])
        self.characters = tokenizer.name == "character"
        newline = vocab.stoi.get("\n")
        #: what ends a line (and starts an unconditional prompt): "\n" for a character model that has it, else <eos>
        self.line_end = newline if self.characters and newline is not None else vocab.eos_id

    def tokens(self, text: str) -> list[str]:
        return self.tokenizer(text)

    def ids(self, text: str) -> list[int]:
        return self.vocab.encode(self.tokenizer(text))

    def start_ids(self, prompt: str) -> list[int]:
        """What generation reads before its first new token: <bos> (conditional) or a line end, then the prompt."""
        return [self.vocab.bos_id if self.conditions else self.line_end, *self.ids(prompt)]

    def text(self, ids: list[int]) -> str:
        parts = ["\n" if i == self.vocab.eos_id and not self.conditions else self.vocab.itos[i] for i in ids]
        if self.characters:
            return "".join(parts)
        return " ".join(parts).replace(" \n ", "\n").replace(" \n", "\n")

    def continuation(self, prompt: str, ids: list[int]) -> str:
        """The generated ids as the text that follows ``prompt`` (a word model's continuation starts with a space)."""
        text = self.text(ids)
        return text if self.characters or not prompt.strip() else " " + text


def choose(logits: np.ndarray, options: dict[str, Any], rng: np.random.Generator) -> int:
    """The next token from logits [V] under the inference options (``greedy``, ``temperature``, ``top_k``,
    ``top_p``)."""
    if options["greedy"]:
        return int(logits.argmax())
    z = logits.astype(np.float64) / options["temperature"]
    if options["top_k"] and options["top_k"] < z.size:
        kth = np.sort(z)[-options["top_k"]]
        z = np.where(z < kth, -np.inf, z)
    if options["top_p"] is not None and options["top_p"] < 1.0:
        order = np.argsort(-z, kind="stable")
        p = np.exp(z[order] - z[order[0]])
        p /= p.sum()
        before = np.cumsum(p) - p
        z[order[before >= options["top_p"]]] = -np.inf
    p = np.exp(z - z.max())
    p /= p.sum()
    return int(rng.choice(z.size, p=p))


def summary(result: dict[str, Any]) -> str:
    """The prompt and its continuation."""
    return result["prompt"] + result["text"]
