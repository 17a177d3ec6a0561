"""Tasks own data preparation, loss, prediction and metrics, so the training loop never asks which model
it has. ``get_task(name)`` returns a fresh Task for a recipe's ``task:`` field."""

from __future__ import annotations

import difflib

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
