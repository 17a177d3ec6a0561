"""``data.vocab_from: DIR``: the tokenizer and vocabulary of another run, so that a model that starts from that
run's weights (a classifier from an LM, an LM fine-tuned on a task's text) keeps every word's row. The recipe's
tokenizer and lowercase must be the run's: the same text would otherwise give other words."""

from __future__ import annotations

from .. import artifact
from ..config import ConfigError, DataConfig
from ..data.tokenizers import Tokenizer
from ..data.vocab import Vocab


def borrowed_vocab(cfg: DataConfig, directory: str, source: str) -> tuple[Tokenizer, Vocab]:
    """The tokenizer and vocabulary saved in run ``directory``; a ConfigError in one line when the directory is
    not a model or its tokenizer differs from ``cfg``'s."""
    try:
        files = artifact.read_files(directory, "tokenizer", "vocab")
    except artifact.ArtifactError as err:
        raise ConfigError(f"{source}: data.vocab_from: {err}") from None
    tokenizer = Tokenizer.from_dict(files["tokenizer"])
    if (tokenizer.name, tokenizer.lowercase) != (cfg.tokenizer, cfg.lowercase):
        raise ConfigError(f"{source}: data.vocab_from: {directory} uses tokenizer {tokenizer.name} (lowercase "
                          f"{tokenizer.lowercase}); set data.tokenizer and data.lowercase the same")
    return tokenizer, Vocab.from_dict(files["vocab"])
