"""Model registry: a plain dict name → (config dataclass, builder). ``build(model_section, source)``
validates a recipe's ``model:`` mapping against the dataclass (errors name field and file) and builds."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from torch import nn

from ..config import ConfigError, from_dict
from .bow import BagOfWords, BagOfWordsConfig
from .captioner import Captioner, CaptionerConfig
from .language_model import RecurrentLM, RecurrentLMConfig
from .seq2seq import Seq2Seq, Seq2SeqConfig
from .transformer import TransformerConfig, TransformerSeq2Seq
from .tagger import Tagger, TaggerConfig
from .classifier import (
    RecurrentClassifier,
    RecurrentClassifierConfig,
    RecurrentRegressor,
    RecurrentRegressorConfig,
    TextCNN,
    TextCNNConfig,
)

MODELS: dict[str, tuple[type, Callable[[Any], nn.Module]]] = {
    "rnn_classifier": (RecurrentClassifierConfig, RecurrentClassifier),
    "textcnn": (TextCNNConfig, TextCNN),
    "bow": (BagOfWordsConfig, BagOfWords),
    "rnn_regressor": (RecurrentRegressorConfig, RecurrentRegressor),
    "tagger": (TaggerConfig, Tagger),
    "rnn_lm": (RecurrentLMConfig, RecurrentLM),
    "seq2seq": (Seq2SeqConfig, Seq2Seq),
    "transformer": (TransformerConfig, TransformerSeq2Seq),
    "captioner": (CaptionerConfig, Captioner),
}


def model_config(section: dict[str, Any], source: str = "<recipe>") -> Any:
    name = section.get("name")
    if name not in MODELS:
        raise ConfigError(f"{source}: model.name: unknown model {name!r} (known: {', '.join(MODELS)})")
    return from_dict(MODELS[name][0], section, "model", source)


def build(section: dict[str, Any], source: str = "<recipe>") -> tuple[nn.Module, dict[str, Any]]:
    """The model and its complete config (every default filled in), ready to save in an artifact."""
    cfg = model_config(section, source)
    try:
        model = MODELS[cfg.name][1](cfg)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{source}: model: {err}") from None
    return model, dataclasses.asdict(cfg)


def has_word_embedding(model: nn.Module) -> bool:
    """Whether the model declares a word embedding (``word_embedding()``: pretrained vectors load into it,
    integrated gradients attribute through it). Asked here, in the models' own package, not probed elsewhere."""
    return callable(getattr(type(model), "word_embedding", None))


def vectors_loaded(model: nn.Module) -> None:
    """Tell a model that pretrained vectors were copied into its word embedding, if it acts on that (TextCNN's
    multichannel copies them into its static channel)."""
    hook = getattr(type(model), "vectors_loaded", None)
    if callable(hook):
        hook(model)
