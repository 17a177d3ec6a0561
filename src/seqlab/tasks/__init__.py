"""The task registry. A task family is one folder here (``classification/``, ``tagging/``, …: its torch ``Task``
in ``task.py``, its torch-free ``codec.py``, its ONNX graphs in ``onnx.py``) and one line in ``TASKS``; nothing is
imported until a task is asked for, so reading an exported model's codec never imports torch.

* ``get_task(name)`` → the Task class of a recipe's ``task:`` field (a ConfigError naming the field if unknown);
* ``data_section(name, source)`` → that task's ``data:`` dataclass, which ``load_recipe`` validates against;
* ``load_recipe(path, overrides)`` / ``recipe_from_dict(raw, source)`` → a Recipe, its data section the task's;
* ``summary(name, result)`` → one inference result as text, by the family's torch-free codec;
* ``load_task(model_dir)`` → (artifact, task) of a model directory, the task's files checked against the weights.
"""

from __future__ import annotations

import difflib
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import config
from ..config import ConfigError, Recipe, short

if TYPE_CHECKING:
    from .. import artifact
    from .base import Task

#: task name → "package:ClassName": a family's package (its ``task.py`` holds the Task class, its ``codec.py`` the
#: torch-free side); a family outside seqlab registers the same way, with its own package
TASKS: dict[str, str] = {
    "classification": "seqlab.tasks.classification:ClassificationTask",
    "tagging": "seqlab.tasks.tagging:TaggingTask",
    "adding": "seqlab.tasks.adding:AddingTask",
    "language_model": "seqlab.tasks.language_model:LanguageModelTask",
    "seq2seq": "seqlab.tasks.seq2seq:Seq2SeqTask",
    "captioning": "seqlab.tasks.captioning:CaptioningTask",
}


def codec_of(name: str) -> Any:
    """The torch-free codec module of task ``name``'s family (``summary``, ``RUNTIME`` and its encoders)."""
    if name not in TASKS:
        raise ValueError(f"unknown task {short(name)} (known: {', '.join(TASKS)})")
    return import_module(f"{TASKS[name].split(':')[0]}.codec")


def summary(name: str, result: dict[str, Any]) -> str:
    """One result of task ``name`` as text for the terminal: its family's ``codec.summary`` (torch-free)."""
    return codec_of(name).summary(result)


def get_task(name: str, source: str | None = None) -> type[Task]:
    """The Task class registered as ``name``; an unknown name is a ConfigError naming ``source``'s ``task``."""
    if name not in TASKS:
        close = difflib.get_close_matches(str(name), TASKS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        where = f"{source}: task: " if source else ""
        raise ConfigError(f"{where}unknown task {short(name)} (known: {', '.join(TASKS)}){hint}")
    package, cls = TASKS[name].split(":")
    return getattr(import_module(f"{package}.task"), cls)


def data_section(name: str, source: str = "<recipe>") -> type:
    """The ``data:`` dataclass of task ``name``."""
    return get_task(name, source).data_config


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Recipe:
    """A YAML recipe file (or a packaged recipe by name) with ``--set`` overrides, validated (``seqlab.config``)."""
    return config.load_recipe(path, overrides, sections=data_section)


def recipe_from_dict(raw: dict[str, Any], source: str = "<recipe>") -> Recipe:
    """A raw mapping validated into a Recipe (``seqlab.config``)."""
    return config.recipe_from_dict(raw, source, sections=data_section)


def load_task(model_dir: str | Path) -> tuple[artifact.Artifact, Task]:
    """(artifact, task) of a model directory, the task's files checked against the model they serve: what the
    task derives from them (``Task.model_section``: vocabulary size, number of labels or tags, …) must equal the
    model's config, so a vocabulary one word short or a labels file of three names for a two-class head is one
    ``ArtifactError`` naming the file, never a wrong answer or a traceback."""
    from .. import artifact  # torch: only when a model is loaded

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
