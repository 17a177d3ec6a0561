"""Tasks own data preparation, loss, prediction and metrics, so the training loop never asks which model
it has. ``get_task(name)`` returns a fresh Task for a recipe's ``task:`` field."""

from __future__ import annotations

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


def get_task(name: str) -> type[Task]:
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r} (known: {', '.join(TASKS)})") from None
