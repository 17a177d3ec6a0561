"""Checksums over a model's files, stdlib only (a trained model's directory and an ONNX export both carry one):
at save, each file's size and sha256; at load, each file checked against them before it is parsed, so a file
changed, cut or swapped after saving is one error naming it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest(directory: Path, names: list[str]) -> dict[str, dict[str, Any]]:
    """{file name: {"bytes", "sha256"}} of the named files of ``directory``."""
    return {name: {"bytes": (directory / name).stat().st_size, "sha256": sha256_file(directory / name)} for name in names}


def problem(directory: Path, listed: Any, names: list[str], where: str) -> str | None:
    """What is wrong with ``names`` against the manifest ``listed`` (read from ``where``), or None."""
    if not isinstance(listed, dict):
        return f"{where}: manifest: expected an object of file names"
    for name in names:
        entry = listed.get(name)
        if not isinstance(entry, dict) or not isinstance(entry.get("bytes"), int) or not isinstance(entry.get("sha256"), str):
            return f"{where}: manifest: {name} is not listed with its bytes and sha256"
        file = directory / name
        if not file.is_file():
            return f"{file}: is missing"
        size = file.stat().st_size
        if size != entry["bytes"]:
            return (f"{file}: {size:,} bytes, but {entry['bytes']:,} were saved ({Path(where).name} manifest): the file "
                    "was changed or cut after saving")
        if sha256_file(file) != entry["sha256"]:
            return f"{file}: sha256 differs from the one saved ({Path(where).name} manifest): the file was changed after saving"
    return None
