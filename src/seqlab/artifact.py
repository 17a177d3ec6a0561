"""The one model format: a directory with

* ``model.safetensors`` — the weights (tied / shared tensors stored once, restored tied);
* ``config.json`` — ``{"schema_version", "seqlab_version", "task", "model": {...}, "recipe": {...}}``
  where ``model`` is the complete model config that rebuilds the module through ``models.registry``;
* one JSON file per entry of ``files`` (the task's vocabulary, tokenizer and labels).

Loading never unpickles: weights come from safetensors, everything else from JSON. A loaded directory
is checked against what it claims before anything is allocated: config.json's shape and types, the
``files`` names (the artifact's own JSON files only: no path can leave the directory), the safetensors
header (length within the file, known dtypes, each tensor's byte range matching its shape and lying in the
file, no two ranges overlapping), and that header against the model the config describes, built on the
``meta`` device (names, shapes, dtypes; tied weights stored once). Only then is the model built and filled,
and every floating-point weight must be finite.

config.json also holds a ``manifest``: every other file's size and sha256, written at save and verified at
load before the file is parsed (a changed, truncated or swapped file is one error naming it). A directory
saved before manifests existed still loads, with a warning. That the files agree with the weights (a
vocabulary as long as the embedding, as many labels as the head has outputs) is the task's check
(``seqlab.tasks.load_task``).

Directories are written atomically (``atomic_directory``): into a temporary sibling, marked complete, then
swapped in by rename. A process killed between the renames leaves complete copies beside the target;
``recover`` (run before every read and write) puts the newest complete one back and removes the rest.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, save_model
from torch import nn

from . import __version__
from . import manifest as checksums
from .models import registry

SCHEMA_VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
COMPLETE = ".complete"  # written last into a temporary directory: its contents are whole
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
RESERVED = ("config", "model", "trainer")
MAX_JSON_BYTES = 256 << 20  # config.json and the task's JSON files
MAX_HEADER_BYTES = 64 << 20  # a safetensors header (names, shapes, offsets) is kilobytes
DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
          "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
          "BOOL": torch.bool}


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


def _creator(leftover: Path) -> int | None:
    """The pid in ``.NAME.tmp-PID-…`` or ``.NAME.old-PID``."""
    tail = leftover.name.rsplit(".tmp-", 1)[-1] if ".tmp-" in leftover.name else leftover.name.rsplit(".old-", 1)[-1]
    try:
        return int(tail.split("-", 1)[0])
    except ValueError:
        return None


def _alive(pid: int | None) -> bool:
    if pid is None or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(path: str | Path) -> None:
    """Finish or undo a swap that a killed process left half done, then remove its leftovers.

    A swap renames ``path`` to ``.NAME.old-PID``, then the complete ``.NAME.tmp-PID-…`` to ``path``. Killed in
    between, ``path`` is missing: the newest complete temporary copy (the one being swapped in) takes its
    place, else the previous copy goes back. Leftovers of processes that still run are left alone (they
    may be in the middle of their own swap).
    """
    path = Path(path)
    if not path.parent.is_dir():
        return
    dead = [p for p in (*path.parent.glob(f".{path.name}.tmp-*"), *path.parent.glob(f".{path.name}.old-*"))
            if not _alive(_creator(p))]
    if not dead:
        return
    newest_first = lambda ps: sorted(ps, key=lambda p: p.stat().st_mtime, reverse=True)  # noqa: E731
    complete = newest_first(p for p in dead if ".tmp-" in p.name and (p / COMPLETE).is_file())
    previous = newest_first(p for p in dead if ".old-" in p.name)
    if not path.exists() and (complete or previous):
        back = (complete or previous)[0]
        os.replace(back, path)
        dead.remove(back)
        (path / COMPLETE).unlink(missing_ok=True)
    for leftover in dead:
        shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary directory; on success it replaces ``path`` (old contents removed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    recover(path)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp-{os.getpid()}-"))
    try:
        yield tmp
        (tmp / COMPLETE).write_bytes(b"")
        old = None
        if path.exists():
            old = path.parent / f".{path.name}.old-{os.getpid()}"
            os.replace(path, old)
        os.replace(tmp, path)
        (path / COMPLETE).unlink(missing_ok=True)
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
        if name in RESERVED or not FILE_NAME.fullmatch(name):
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
        "manifest": checksums.manifest(directory, [WEIGHTS, *(f"{name}.json" for name in sorted(files))]),
    })


def verify_manifest(path: Path, config: dict[str, Any], names: list[str]) -> None:
    """Each named file's size and sha256 against config.json's manifest: an ArtifactError naming the first file
    that differs or is not listed; a warning when there is no manifest at all (an older directory)."""
    if "manifest" not in config:
        warnings.warn(f"{path}: config.json has no manifest (saved by an older seqlab), so its files are not "
                      "checked against what was saved; save it again to add one", stacklevel=3)
        return
    found = checksums.problem(path, config["manifest"], names, str(path / CONFIG))
    if found:
        raise ArtifactError(found)


def save(directory: str | Path, model: nn.Module, model_config: dict[str, Any], task: str,
         recipe: dict[str, Any] | None = None, files: dict[str, Any] | None = None) -> Path:
    """Write an artifact directory atomically; ``files`` maps a name to a JSON-serialisable object."""
    with atomic_directory(directory) as tmp:
        write(tmp, model, model_config, task, recipe, files)
    return Path(directory)


def resolve(directory: str | Path) -> Path:
    """Accept a run directory (holding ``model/``) or the model directory itself."""
    directory = Path(directory)
    for candidate in (directory, directory / "model"):
        recover(candidate)
        if (candidate / CONFIG).is_file():
            return candidate
    if directory.is_file():
        raise ArtifactError(f"{directory}: is a file; give a run directory or a model directory")
    if not directory.exists():
        raise ArtifactError(f"{directory}: no such directory")
    raise ArtifactError(f"{directory}: not a seqlab model directory (no {CONFIG} in it or in {directory / 'model'})")


def read_json(path: Path) -> Any:
    """A JSON file of a model or checkpoint directory, bounded in size; errors name the file."""
    try:
        if path.is_dir():
            raise ArtifactError(f"{path}: is a directory, not a JSON file")
        if path.stat().st_size > MAX_JSON_BYTES:
            raise ArtifactError(f"{path}: {path.stat().st_size:,} bytes, more than a model's JSON file holds")
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"{path}: is missing") from None
    except UnicodeDecodeError as err:
        raise ArtifactError(f"{path}: not UTF-8 text (byte {err.start})") from None
    except json.JSONDecodeError as err:
        raise ArtifactError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
    except RecursionError:
        raise ArtifactError(f"{path}: JSON nested too deeply") from None


def read_config(directory: str | Path) -> dict[str, Any]:
    """config.json, checked: an object of the right schema, with ``model.name``, ``task``, ``recipe`` and
    ``files`` of the right types, and file names that stay inside the directory."""
    path = resolve(directory) / CONFIG
    config = read_json(path)
    if not isinstance(config, dict):
        raise ArtifactError(f"{path}: expected a JSON object, got {type(config).__name__}")
    version = config.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ArtifactError(f"{path}: schema_version {str(version)[:20]}, this seqlab reads {SCHEMA_VERSION}")
    for key, kind in (("model", dict), ("task", str), ("recipe", dict), ("files", list)):
        if key not in config:
            raise ArtifactError(f"{path}: {key}: missing")
        if not isinstance(config[key], kind):
            raise ArtifactError(f"{path}: {key}: expected {kind.__name__}, got {type(config[key]).__name__}")
    if not isinstance(config["model"].get("name"), str):
        raise ArtifactError(f"{path}: model.name: missing")
    for name in config["files"]:
        if not isinstance(name, str) or name in RESERVED or not FILE_NAME.fullmatch(name):
            raise ArtifactError(f"{path}: files: {str(name)[:40]!r} is not a file name of a seqlab model")
    return config


def read_files(directory: str | Path, *names: str) -> dict[str, Any]:
    """Some of a model directory's JSON files (e.g. ``tokenizer``, ``vocab``) without building its model."""
    path = resolve(directory)
    config = read_config(path)
    missing = [n for n in names if n not in config["files"]]
    if missing:
        raise ArtifactError(f"{path}: has no {', '.join(missing)} file (a {config['task']} model)")
    return {n: read_json(path / f"{n}.json") for n in names}


def read_header(path: Path) -> dict[str, tuple[str, list[int]]]:
    """A safetensors file's tensors as {name: (dtype, shape)}, after checking the header against the file:
    its length, known dtypes, each byte range matching its shape, inside the data, no two overlapping."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ArtifactError(f"{path}: is missing") from None
    if not path.is_file():
        raise ArtifactError(f"{path}: is not a file")
    if size < 8:
        raise ArtifactError(f"{path}: {size} bytes, too short for a safetensors file")
    with open(path, "rb") as fh:
        length = int.from_bytes(fh.read(8), "little")
        if length > min(size - 8, MAX_HEADER_BYTES):
            raise ArtifactError(f"{path}: header of {length:,} bytes claimed in a file of {size:,}: not a safetensors file")
        raw = fh.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ArtifactError(f"{path}: the header is not JSON: not a safetensors file (a pickle renamed?)") from None
    if not isinstance(header, dict):
        raise ArtifactError(f"{path}: the header is not a JSON object")
    data_size = size - 8 - length
    tensors, ranges = {}, []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (start, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
            if dtype not in DTYPES or not all(isinstance(d, int) and d >= 0 for d in shape) or not (
                    isinstance(start, int) and isinstance(end, int) and 0 <= start <= end):
                raise ValueError
        except (KeyError, TypeError, ValueError):
            raise ArtifactError(f"{path}: tensor {name[:60]!r}: malformed header entry") from None
        nbytes = math.prod(shape) * torch.empty(0, dtype=DTYPES[dtype]).element_size()
        if end - start != nbytes:
            raise ArtifactError(f"{path}: tensor {name[:60]!r}: {end - start:,} bytes for a {dtype} tensor of shape "
                                f"{shape} ({nbytes:,} bytes)")
        if end > data_size:
            raise ArtifactError(f"{path}: tensor {name[:60]!r} ends at byte {end:,} of {data_size:,}: the file is truncated")
        tensors[name] = (dtype, list(shape))
        ranges.append((start, end, name))
    ranges.sort()
    for (_, end_a, a), (start_b, _, b) in zip(ranges, ranges[1:]):
        if start_b < end_a:
            raise ArtifactError(f"{path}: tensors {a[:40]!r} and {b[:40]!r} overlap")
    return tensors


def check_weights(path: Path, header: dict[str, tuple[str, list[int]]], meta_model: nn.Module) -> None:
    """The header against the model config.json describes (built on the meta device): every tensor the
    model needs, with its shape and dtype; nothing else; tied tensors present under at least one name."""
    expected = meta_model.state_dict(keep_vars=True)
    groups: dict[int, list[str]] = {}
    for name, tensor in expected.items():
        groups.setdefault(id(tensor), []).append(name)
    unexpected = sorted(set(header) - set(expected))
    if unexpected:
        raise ArtifactError(f"{path}: tensor {unexpected[0][:60]!r} is not part of the model config.json describes")
    for names in groups.values():
        stored = [n for n in names if n in header]
        if not stored:
            raise ArtifactError(f"{path}: tensor {names[0]!r} is missing")
        want = expected[names[0]]
        for name in stored:
            dtype, shape = header[name]
            if list(want.shape) != shape:
                raise ArtifactError(f"{path}: tensor {name!r} has shape {shape}; config.json describes {list(want.shape)}")
            if DTYPES[dtype] != want.dtype:
                raise ArtifactError(f"{path}: tensor {name!r} is {dtype}; the model holds {want.dtype}")


def load(directory: str | Path) -> Artifact:
    """Check the directory (module docstring), rebuild the model from ``config.json`` and fill its weights."""
    path = resolve(directory)
    config = read_config(path)
    verify_manifest(path, config, [WEIGHTS, *(f"{name}.json" for name in config["files"])])
    weights = path / WEIGHTS
    header = read_header(weights)
    try:
        with torch.device("meta"):
            meta_model, _ = registry.build(config["model"], str(path / CONFIG))
    except (ValueError, TypeError, RuntimeError) as err:  # ConfigError is a ValueError
        raise ArtifactError(f"{path / CONFIG}: model: {str(err).splitlines()[0][:200]}") from None
    float64 = {dtype for dtype, _ in header.values() if DTYPES.get(dtype, torch.int64).is_floating_point} == {"F64"}
    if float64:  # a train.precision: fp64 run's model
        meta_model.double()
    check_weights(weights, header, meta_model)
    model, _ = registry.build(config["model"], str(path / CONFIG))
    if float64:
        model.double()
    try:
        missing, unexpected = load_model(model, str(weights), strict=False)
    except (SafetensorError, OSError, RuntimeError) as err:
        raise ArtifactError(f"{weights}: cannot be read ({str(err).splitlines()[0][:200]})") from None
    if missing or unexpected:
        raise ArtifactError(f"{weights}: weights do not match the model (missing {missing}, unexpected {unexpected})")
    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ArtifactError(f"{weights}: tensor {name!r} holds NaN or infinite values")
    model.eval()
    files = {}
    for name in config["files"]:
        files[name] = read_json(path / f"{name}.json")
    return Artifact(model, config["model"], config["task"], config["recipe"], files, path)
