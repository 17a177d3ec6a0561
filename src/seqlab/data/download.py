"""Where a dataset's files come from, and proof that they are the right ones.

Where files are looked for, in order:

1. the offline root ``$SEQLAB_DATA_DIR/<folder>/`` (tests and benchmarks point it at ../shared/datasets);
2. the cache ``$SEQLAB_CACHE_DIR/<folder>/`` (default ``~/.cache/seqlab``);
3. the copy shipped inside the package (``mr``, ``tinyshakespeare``: the demos' data);
4. a download from the canonical URL into the cache, checked against its sha256 (unless ``SEQLAB_OFFLINE=1``).

A cached archive (IMDb's tarball) is checked against its sha256 before anything is prepared from it; one
that fails is moved aside as ``*.rejected`` and never read. ``verify`` reports what each file's sha256 says.
"""

from __future__ import annotations

import hashlib
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import runtime
from ..manifest import sha256_file

if TYPE_CHECKING:
    from .catalogue import DatasetSpec


class DatasetError(RuntimeError):
    """A dataset is unknown, missing offline, or failed its checksum."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its name in the dataset folder, canonical URL and sha256."""

    name: str
    url: str
    sha256: str


sha256_of = sha256_file  # a file's sha256, read in 1 MiB blocks (seqlab.manifest, shared with model directories)


def builtin_dir() -> Path:
    return Path(__file__).parent / "builtin"


def candidate_dirs(spec: DatasetSpec) -> list[tuple[str, Path]]:
    """Where ``spec``'s files may already be, in the order they are tried."""
    out = []
    root = runtime.data_dir()
    if root is not None:
        out.append(("offline root", root / spec.folder))
    out.append(("cache", runtime.cache_dir() / spec.folder))
    if spec.builtin:
        out.append(("shipped with seqlab", builtin_dir() / spec.folder))
    return out


def locate(spec: DatasetSpec, download: bool = True) -> Path:
    """The folder holding all of ``spec``'s files, downloading them if allowed (see module docstring)."""
    for _, folder in candidate_dirs(spec):
        if all((folder / f.name).is_file() for f in spec.files):
            return folder
    target = runtime.cache_dir() / spec.folder
    cached_archive = spec.archive is not None and (target / spec.archive.name).is_file()
    if (not download or runtime.offline()) and not cached_archive:
        tried = ", ".join(str(p) for _, p in candidate_dirs(spec))
        raise DatasetError(
            f"dataset {spec.name!r} not found (looked in {tried}); set SEQLAB_DATA_DIR to a folder holding "
            f"{spec.folder}/ or allow downloads"
        )
    target.mkdir(parents=True, exist_ok=True)
    try:
        if spec.archive is not None:
            archive = target / spec.archive.name
            if archive.is_file() and sha256_of(archive) != spec.archive.sha256:
                rejected = archive.with_name(archive.name + ".rejected")
                archive.replace(rejected)
                if not download or runtime.offline():
                    raise DatasetError(f"{archive}: sha256 {sha256_of(rejected)} does not match the expected "
                                       f"{spec.archive.sha256}; moved aside to {rejected.name}")
            if not archive.is_file():
                fetch(spec.archive, archive)
            spec.prepare(archive, target)
        else:
            for f in spec.files:
                if not (target / f.name).is_file():
                    fetch(f, target / f.name)
    except DatasetError as err:
        raise DatasetError(f"{err}; offline, set SEQLAB_DATA_DIR to a folder holding {spec.folder}/") from None
    return target


def fetch(remote: RemoteFile, dest: Path) -> None:
    """Download ``remote`` to ``dest`` through a temporary file, refusing a sha256 mismatch."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(remote.url, timeout=60) as response, open(fd, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                          TransferSpeedColumn(), transient=True) as bar:
                task = bar.add_task(f"download {remote.name}", total=total)
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.advance(task, len(chunk))
        if digest.hexdigest() != remote.sha256:
            raise DatasetError(
                f"{remote.url}: sha256 {digest.hexdigest()} does not match the expected {remote.sha256}"
            )
        Path(tmp).replace(dest)
    except OSError as err:
        raise DatasetError(f"{remote.url}: download failed ({err})") from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def verify(spec: DatasetSpec) -> list[tuple[str, str]]:
    """Check every file found for ``spec``: a list of (path, 'ok' | 'missing' | 'sha256 mismatch: …')."""
    folder = None
    for _, candidate in candidate_dirs(spec):
        if all((candidate / f.name).is_file() for f in spec.files):
            folder = candidate
            break
    if folder is None:
        return [(f.name, "missing") for f in spec.files]
    out = []
    archive = folder / spec.archive.name if spec.archive is not None else None
    prepared = False
    if archive is not None and archive.is_file():
        got = sha256_of(archive)
        prepared = got == spec.archive.sha256
        out.append((str(archive), "ok" if prepared else f"sha256 mismatch: {got}"))
    for f in spec.files:
        path = folder / f.name
        got = sha256_of(path)
        if got == f.sha256:
            out.append((str(path), "ok"))
        elif prepared:
            out.append((str(path), "ok (prepared from the verified archive)"))
        else:
            out.append((str(path), f"sha256 mismatch: {got}"))
    return out
