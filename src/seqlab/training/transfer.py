"""Starting from another run's weights. ``model.encoder_from: DIR``: a classifier's or tagger's embedding and
recurrent layers from a trained language model's run (``models.transfer`` does the copying and the checks).
``train.init_from: DIR``: every weight from a run of the same model and vocabulary, to go on training it on other
text (ULMFiT's LM fine-tuning on the target task's text). Either run is read as any model directory is
(``artifact.load``: safetensors + JSON, checked); its vocabulary comes from its files."""

from __future__ import annotations

from typing import Any

from torch import nn

from .. import artifact
from ..config import ConfigError
from ..models.transfer import TransferError, transfer_encoder
from ..tasks import get_task


def start_from_language_model(model: nn.Module, directory: str, target_words: list[str], tokenizer: dict[str, Any],
                              source: str = "<recipe>") -> dict[str, Any]:
    """Copy the LM run at ``directory`` (its ``model/`` or the model directory itself) into ``model``; the
    report says how many words were found and what was kept. Refused with one line when the LM is not a
    language model, its sizes differ, or its tokenizer differs from the recipe's (the words would not match)."""
    try:
        lm = artifact.load(directory)  # a run directory or its model/
    except (artifact.ArtifactError, FileNotFoundError) as err:
        raise ConfigError(f"{source}: model.encoder_from: {err}") from None
    if not get_task(lm.task, str(lm.path)).lends_encoder:
        raise ConfigError(f"{source}: model.encoder_from: {directory} is a {lm.task} model, not a language model")
    lm_tokenizer = lm.files["tokenizer"]
    differs = [k for k in ("name", "lowercase") if lm_tokenizer.get(k) != tokenizer.get(k)]
    if differs:
        raise ConfigError(f"{source}: model.encoder_from: {directory} was trained with tokenizer "
                          f"{lm_tokenizer.get('name')} (lowercase {lm_tokenizer.get('lowercase')}), this recipe uses "
                          f"{tokenizer.get('name')} (lowercase {tokenizer.get('lowercase')}): set data.tokenizer and "
                          "data.lowercase as the language model's")
    try:
        report = transfer_encoder(model.encoder_parts(), lm.model.encoder_parts(), target_words,
                                  lm.files["vocab"]["itos"], f"model.encoder_from {directory}")
    except TransferError as err:
        raise ConfigError(f"{source}: {err}") from None
    return {"from": str(lm.path), **report}


def start_from_run(model: nn.Module, directory: str, words: list[str] | None, source: str = "<recipe>") -> dict[str, Any]:
    """Copy every weight of the run at ``directory`` into ``model``. Refused in one line, naming both, when a
    tensor's name or shape differs or the vocabularies differ (``data.vocab_from`` gives the run's)."""
    try:
        run = artifact.load(directory)
    except (artifact.ArtifactError, FileNotFoundError) as err:
        raise ConfigError(f"{source}: train.init_from: {err}") from None
    theirs, ours = run.model.state_dict(), model.state_dict()
    for name in sorted(set(theirs) | set(ours)):
        shapes = [list(d[name].shape) if name in d else "no such tensor" for d in (theirs, ours)]
        if shapes[0] != shapes[1]:
            raise ConfigError(f"{source}: train.init_from: {directory} has {name} {shapes[0]}, this model "
                              f"{shapes[1]}: give the model the run's sizes")
    their_words = (run.files.get("vocab") or {}).get("itos")
    if words is not None and their_words != list(words):
        raise ConfigError(f"{source}: train.init_from: {directory} has another vocabulary ({len(their_words or []):,} "
                          f"words, this run {len(words):,}): set data.vocab_from: {directory}")
    model.load_state_dict(theirs)
    return {"from": str(run.path), "tensors": len(theirs), "parameters": sum(p.numel() for p in run.model.parameters())}
