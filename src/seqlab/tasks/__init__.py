"""Tasks own data preparation, loss, prediction and metrics, so the training loop never asks which model
it has. ``get_task(name)`` returns a fresh Task for a recipe's ``task:`` field."""

from __future__ import annotations

import difflib

from pathlib import Path
from typing import Any

from .. import artifact
from ..config import DATA_SECTIONS, ConfigError, short
from .adding import AddingTask
from .base import Task
from .captioning import CaptioningTask
from .classification import ClassificationTask
from .language_model import LanguageModelTask
from .seq2seq import Seq2SeqTask
from .tagging import TaggingTask

TASKS: dict[str, type[Task]] = {"classification": ClassificationTask, "tagging": TaggingTask, "adding": AddingTask,
                              "language_model": LanguageModelTask, "seq2seq": Seq2SeqTask,
                              "captioning": CaptioningTask}


DATA_SECTIONS.update({name: task.data_config for name, task in TASKS.items()})


def get_task(name: str, source: str | None = None) -> type[Task]:
    """The Task class registered as ``name``; an unknown name is a ConfigError naming ``source``'s ``task``."""
    try:
        return TASKS[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), TASKS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        where = f"{source}: task: " if source else ""
        raise ConfigError(f"{where}unknown task {short(name)} (known: {', '.join(TASKS)}){hint}") from None


def load_task(model_dir: str | Path) -> tuple[artifact.Artifact, Task]:
    """(artifact, task) of a model directory, the task's files checked against the model they serve: what the
    task derives from them (``Task.model_section``: vocabulary size, number of labels or tags, …) must equal the
    model's config, so a vocabulary one word short or a labels file of three names for a two-class head is one
    ``ArtifactError`` naming the file, never a wrong answer or a traceback."""
    art = artifact.load(model_dir)
    config = art.path / artifact.CONFIG
    task_cls = get_task(art.task, str(config))
    try:
        task = task_cls.from_files(art.files, art.recipe)
        derived = task.model_section({})
    except KeyError as err:
        raise artifact.ArtifactError(f"{config}: the files of a {art.task} model lack {str(err.args[0])[:40]!r}, a file "
                                     f"or a field of one (files: {', '.join(art.files) or 'none'})") from None
    except (TypeError, ValueError, AttributeError, IndexError) as err:
        raise artifact.ArtifactError(f"{config}: the {art.task} files ({', '.join(art.files) or 'none'}) "
                                     f"cannot be read: {str(err).splitlines()[0][:200] if str(err) else type(err).__name__}") from None
    for key, value in derived.items():
        if key in art.model_config and art.model_config[key] != value and key != "name":
            raise artifact.ArtifactError(f"{art.path}: the task's files give model.{key} = {_brief(value)}, but the "
                                         f"weights were saved for {_brief(art.model_config[key])} (config.json): the "
                                         "files and the weights do not belong together")
    return art, task


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
