"""The one model format: a directory with

* ``model.safetensors`` — the weights (tied / shared tensors stored once, restored tied);
* ``config.json`` — ``{"schema_version", "seqlab_version", "task", "model": {...}, "recipe": {...}}``
  where ``model`` is the complete model config that rebuilds the module through ``models.registry``;
* one JSON file per entry of ``files`` (the task's vocabulary, tokenizer and labels).

Loading never unpickles: weights come from safetensors, everything else from JSON. Directories are
written atomically: into a temporary sibling, then swapped in by rename, so a crash mid-write leaves
the previous artifact intact.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safetensors.torch import load_model, save_model
from torch import nn

from . import __version__
from .models import registry

SCHEMA_VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"


class ArtifactError(RuntimeError):
    """A model directory is missing, incomplete or of an unknown schema version."""


@dataclass
class Artifact:
    model: nn.Module
    model_config: dict[str, Any]
    task: str
    recipe: dict[str, Any]
    files: dict[str, Any]
    path: Path


@contextlib.contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary directory; on success it replaces ``path`` (old contents removed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp-"))
    try:
        yield tmp
        old = None
        if path.exists():
            old = path.parent / f".{path.name}.old-{os.getpid()}"
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def write(
    directory: Path,
    model: nn.Module,
    model_config: dict[str, Any],
    task: str,
    recipe: dict[str, Any] | None = None,
    files: dict[str, Any] | None = None,
) -> None:
    """Write the artifact's files into an existing directory (not atomic: see ``save``)."""
    files = files or {}
    for name in files:
        if name in ("config", "model", "trainer") or "/" in name:
            raise ArtifactError(f"artifact file name {name!r} is reserved or invalid")
    save_model(model, str(directory / WEIGHTS), metadata={"schema_version": str(SCHEMA_VERSION)})
    for name, obj in files.items():
        write_json(directory / f"{name}.json", obj)
    write_json(directory / CONFIG, {
        "schema_version": SCHEMA_VERSION,
        "seqlab_version": __version__,
        "task": task,
        "model": model_config,
        "recipe": recipe or {},
        "files": sorted(files),
    })


def save(directory: str | Path, model: nn.Module, model_config: dict[str, Any], task: str,
         recipe: dict[str, Any] | None = None, files: dict[str, Any] | None = None) -> Path:
    """Write an artifact directory atomically; ``files`` maps a name to a JSON-serialisable object."""
    with atomic_directory(directory) as tmp:
        write(tmp, model, model_config, task, recipe, files)
    return Path(directory)


def resolve(directory: str | Path) -> Path:
    """Accept a run directory (holding ``model/``) or the model directory itself."""
    directory = Path(directory)
    if (directory / CONFIG).is_file():
        return directory
    if (directory / "model" / CONFIG).is_file():
        return directory / "model"
    raise ArtifactError(f"{directory}: not a seqlab model directory (no {CONFIG} in it or in {directory / 'model'})")


def read_config(directory: str | Path) -> dict[str, Any]:
    path = resolve(directory) / CONFIG
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ArtifactError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
    version = config.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ArtifactError(f"{path}: schema_version {version!r}, this seqlab reads {SCHEMA_VERSION}")
    return config


def load(directory: str | Path) -> Artifact:
    """Rebuild the model from ``config.json`` and fill its weights from safetensors (strict)."""
    path = resolve(directory)
    config = read_config(path)
    model, _ = registry.build(config["model"], str(path / CONFIG))
    weights = path / WEIGHTS
    if not weights.is_file():
        raise ArtifactError(f"{path}: {WEIGHTS} is missing")
    missing, unexpected = load_model(model, str(weights), strict=False)
    if missing or unexpected:
        raise ArtifactError(f"{weights}: weights do not match the model (missing {missing}, unexpected {unexpected})")
    model.eval()
    files = {}
    for name in config.get("files", []):
        try:
            files[name] = json.loads((path / f"{name}.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ArtifactError(f"{path}: {name}.json is missing") from None
    return Artifact(model, config["model"], config["task"], config.get("recipe", {}), files, path)
