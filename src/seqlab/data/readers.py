"""Readers for labelled text files. Every malformed line raises one ``DataFormatError`` whose message
starts with ``file:line:``; empty texts are kept (the task gives them a single ``<unk>`` token).

Formats (``data.format`` in a recipe):

* ``tsv`` / ``csv`` — a header row naming the columns, then one example per row; ``text_field`` and
  ``label_field`` choose the columns;
* ``jsonl`` — one JSON object per line with ``text_field`` and ``label_field`` keys;
* ``folder`` — a directory with one file per class, ``<label>.txt``, one example per line;
* ``lines`` — one text per line, no labels (for ``predict --file``).

Any file may be gzip-compressed (``.gz``). Text is decoded strictly, as UTF-8 unless ``encoding`` says
otherwise (``data.encoding`` in a recipe; the registry's MR, SUBJ and TREC declare Latin-1): a byte that is
not valid stops the read with its ``file:line:column``, instead of a whole file silently decoded as Latin-1.
A UTF-8 byte-order mark (spreadsheet programs write one) is dropped; a NUL byte is an error.

TSV is split on tabs with no quoting (a ``"`` is an ordinary character, so an unbalanced one cannot swallow
the rows after it); CSV follows the csv module's quoting, and a quoted field running over several lines is
refused with the line where it starts.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class DataFormatError(ValueError):
    """A data file could not be read; the message names the file and line."""


@dataclass(frozen=True)
class TextExample:
    text: str
    label: str | None = None


def read_bytes(path: str | Path) -> bytes:
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"{path}: no such file")
    if path.is_dir():
        raise DataFormatError(f"{path}: is a directory, not a file")
    try:
        data = path.read_bytes()
    except PermissionError:
        raise DataFormatError(f"{path}: not readable (permission denied)") from None
    if path.suffix != ".gz":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError) as err:
        raise DataFormatError(f"{path}: not a valid gzip file ({err})") from None


def _position(data: bytes, offset: int) -> str:
    """``line:column`` (both from 1, the column in bytes) of byte ``offset``."""
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return f"{line}:{column}"


def decode(data: bytes, path: str | Path = "<data>", encoding: str = "utf-8") -> str:
    """``data`` decoded strictly; a bad byte or a NUL is a DataFormatError at its ``file:line:column``."""
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8") and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as err:
        raise DataFormatError(f"{path}:{_position(data, err.start)}: byte {data[err.start]:#04x} is not valid "
                              f"{encoding}; if the file is in another encoding, set data.encoding (e.g. latin-1)") from None
    except LookupError:
        raise DataFormatError(f"{path}: unknown encoding {encoding!r} (data.encoding)") from None
    nul = data.find(b"\0")
    if nul >= 0:
        raise DataFormatError(f"{path}:{_position(data, nul)}: NUL byte in the text (a binary file?)")
    return text


def read_lines(path: str | Path, encoding: str = "utf-8") -> list[str]:
    """Lines of a text file, split on ``\\n`` only (Latin-1 ``\\x85`` is not a line break), ``\\r`` stripped.

    A final empty line after the last newline is not returned.
    """
    lines = decode(read_bytes(path), path, encoding).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def stream_lines(path: str | Path, encoding: str = "utf-8") -> Iterator[str]:
    """The lines of a text file (``.gz`` read through gzip), one at a time: memory bounded by the longest line,
    not the file. A bad byte is a DataFormatError naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"{path}: no such file" if not path.exists() else f"{path}: is a directory, not a file")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                line = raw.decode(encoding)
            except UnicodeDecodeError as err:
                raise DataFormatError(f"{path}:{number}:{err.start + 1}: byte {raw[err.start]:#04x} is not valid "
                                      f"{encoding}; set data.encoding if the file is in another") from None
            yield line.rstrip("\n").rstrip("\r")


def _rows(path: str | Path, text: str, delimiter: str):
    """(line number, fields) of each non-empty row: TSV split on tabs, CSV through the csv module."""
    if delimiter == "\t":
        for number, line in enumerate(text.split("\n"), start=1):
            line = line.rstrip("\r")
            if line.strip():
                yield number, line.split("\t")
        return
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    try:
        for row in rows:
            if rows.line_num != start:
                raise DataFormatError(f"{path}:{start}: a quoted field runs over {rows.line_num - start + 1} lines "
                                      "(an unbalanced quote?)")
            if row:
                yield start, row
            start = rows.line_num + 1
    except csv.Error as err:
        hint = " (a quote opened on this line is never closed?)" if "end of data" in str(err) else ""
        raise DataFormatError(f"{path}:{start}: {err}{hint}") from None


def _column_hint(header: list[str], name: str, text_field: str, delimiter: str, path: str | Path) -> str:
    """What to change when a header lacks a column: the file's real delimiter, its format, or the field name."""
    field = "data.text_field" if name == text_field else "data.label_field"
    if len(header) == 1:
        for other, fmt in ((";", None), (",", "csv"), ("\t", "tsv")):
            if other != delimiter and other in header[0]:
                if fmt is None:
                    return "the header is ';'-separated (an Excel CSV): save it comma- or tab-separated"
                return f"the header is {'comma' if fmt == 'csv' else 'tab'}-separated: set data.format: {fmt}"
    suffix = Path(str(path).removesuffix(".gz")).suffix.lower()
    if suffix == ".csv" and delimiter == "\t":
        return "a .csv file read as TSV: set data.format: csv"
    return f"set {field} to one of the columns"


def read_delimited(path: str | Path, text_field: str, label_field: str | None, delimiter: str,
                   encoding: str = "utf-8") -> list[TextExample]:
    """Rows of a CSV/TSV file with a header; every row must have as many fields as the header."""
    rows = _rows(path, decode(read_bytes(path), path, encoding), delimiter)
    first = next(rows, None)
    if first is None:
        raise DataFormatError(f"{path}:1: empty file, expected a header row")
    header = [h.strip() for h in first[1]]
    for name in (text_field, label_field):
        if name is not None and name not in header:
            raise DataFormatError(f"{path}:{first[0]}: no column {name!r} in header {header}; "
                                  + _column_hint(header, name, text_field, delimiter, path))
    ti = header.index(text_field)
    li = header.index(label_field) if label_field is not None else None
    out = []
    for line, row in rows:
        if len(row) != len(header):
            raise DataFormatError(
                f"{path}:{line}: expected {len(header)} {'tab' if delimiter == chr(9) else 'comma'}-separated "
                f"fields as in the header, found {len(row)}"
            )
        label = row[li].strip() if li is not None else None
        if li is not None and not label:
            raise DataFormatError(f"{path}:{line}: empty label in column {label_field!r}")
        out.append(TextExample(row[ti], label))
    return out


def read_jsonl(path: str | Path, text_field: str, label_field: str | None, encoding: str = "utf-8") -> list[TextExample]:
    out = []
    for number, line in enumerate(read_lines(path, encoding), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataFormatError(f"{path}:{number}: not valid JSON ({err.msg})") from None
        if not isinstance(obj, dict) or text_field not in obj:
            raise DataFormatError(f"{path}:{number}: expected an object with key {text_field!r}")
        if label_field is not None and label_field not in obj:
            raise DataFormatError(f"{path}:{number}: expected an object with key {label_field!r}")
        text = obj[text_field]
        if not isinstance(text, str):
            raise DataFormatError(f"{path}:{number}: {text_field!r} must be a string, got {type(text).__name__}")
        label = obj[label_field] if label_field is not None else None
        if label_field is not None and (isinstance(label, bool) or not isinstance(label, (str, int)) or not str(label).strip()):
            raise DataFormatError(f"{path}:{number}: {label_field!r} must be a non-empty string or an integer, "
                                  f"got {json.dumps(label)[:40]}")
        out.append(TextExample(text, str(label).strip() if label_field is not None else None))
    return out


def read_folder(path: str | Path, encoding: str = "utf-8") -> list[TextExample]:
    """One file per class: the file's stem is the label, each non-empty line an example."""
    path = Path(path)
    if not path.is_dir():
        raise DataFormatError(f"{path}: expected a directory with one file per class")
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise DataFormatError(f"{path}: no class files inside")
    return [TextExample(line, f.name.split(".")[0]) for f in files for line in read_lines(f, encoding) if line.strip()]


def read_examples(path: str | Path, fmt: str, text_field: str = "text", label_field: str | None = "label",
                  encoding: str = "utf-8") -> list[TextExample]:
    """Read one labelled file (or folder) in format ``fmt``."""
    if fmt != "folder" and Path(path).is_dir():
        raise DataFormatError(f"{path}: is a directory; data.format {fmt!r} reads a file (format folder reads a directory)")
    if fmt == "tsv":
        return read_delimited(path, text_field, label_field, "\t", encoding)
    if fmt == "csv":
        return read_delimited(path, text_field, label_field, ",", encoding)
    if fmt == "jsonl":
        return read_jsonl(path, text_field, label_field, encoding)
    if fmt == "folder":
        return read_folder(path, encoding)
    if fmt == "lines":
        return [TextExample(line) for line in read_lines(path, encoding)]
    raise DataFormatError(f"{path}: unknown format {fmt!r} (known: tsv, csv, jsonl, folder, lines)")


def guess_format(path: str | Path) -> str:
    """A labelled file's format from its name: tsv, csv, jsonl (``.gz`` or not), or folder; tsv otherwise."""
    name = Path(path).name.removesuffix(".gz")
    if Path(path).is_dir():
        return "folder"
    for suffix in ("tsv", "csv", "jsonl"):
        if name.endswith("." + suffix):
            return suffix
    return "tsv"


@dataclass(frozen=True)
class TaggedSentence:
    """One sentence for sequence labelling: aligned tokens and tags (tags are None when unlabelled)."""

    tokens: tuple[str, ...]
    tags: tuple[str, ...] | None = None
    features: tuple[tuple[str, ...], ...] = ()  # per extra input column, one value per token (e.g. POS tags)


def read_conll(path: str | Path, tag_column: int = -1, token_column: int = 0,
               separator: str | None = None, feature_columns: tuple[int, ...] = (), encoding: str = "utf-8") -> list[TaggedSentence]:
    """CoNLL column files (CoNLL-2000: ``word POS chunk``; WNUT-17: ``token<TAB>tag``).

    Sentences are separated by lines holding only whitespace (WNUT-17 separates many with a lone tab);
    ``-DOCSTART-`` lines are skipped. Every token line must have the same number of columns as the first of
    its file, else a ``file:line`` error. ``feature_columns`` are read as extra per-token inputs (CoNLL-2000's
    POS column).
    """
    sentences, tokens, tags = [], [], []
    features: list[list[str]] = [[] for _ in feature_columns]
    width = None

    def close() -> None:
        sentences.append(TaggedSentence(tuple(tokens), tuple(tags), tuple(tuple(f) for f in features)))
        tokens.clear(), tags.clear()
        for f in features:
            f.clear()

    for number, line in enumerate(read_lines(path, encoding), start=1):
        if not line.strip():
            if tokens:
                close()
            continue
        if line.startswith("-DOCSTART-"):
            continue
        fields = line.split(separator) if separator else line.split()
        width = width or len(fields)
        if len(fields) != width or len(fields) < 2:
            hint = "; a CoNLL-U file (10 columns, # comments)? set data.format: conllu" if 10 in (width, len(fields)) or \
                str(path).endswith((".conllu", ".conllu.gz")) or line.startswith("#") else ""
            raise DataFormatError(f"{path}:{number}: expected {width} columns (token … tag), found {len(fields)}{hint}")
        for column in (tag_column, token_column, *feature_columns):
            if not -width <= column < width:
                raise DataFormatError(f"{path}:{number}: column {column} does not exist: the file has {width} columns "
                                      f"(data.tag_column / data.feature_columns count from 0, or -1 for the last)")
        tokens.append(fields[token_column])
        tags.append(fields[tag_column])
        for f, column in zip(features, feature_columns):
            f.append(fields[column])
    if tokens:
        close()
    return sentences


CONLLU_FIELDS = {"form": 1, "lemma": 2, "upos": 3, "xpos": 4}


def read_conllu(path: str | Path, field: str = "upos", encoding: str = "utf-8") -> list[TaggedSentence]:
    """CoNLL-U (Universal Dependencies): one syntactic word per line, ten TAB-separated fields; comment lines
    start with ``#``; multiword-token ranges (``3-4``) and empty nodes (``5.1``) are skipped, so tokens are the
    syntactic words that carry the tags."""
    if field not in CONLLU_FIELDS:
        raise DataFormatError(f"{path}: unknown CoNLL-U field {field!r} (known: {', '.join(CONLLU_FIELDS)})")
    column = CONLLU_FIELDS[field]
    sentences, tokens, tags = [], [], []
    for number, line in enumerate(read_lines(path, encoding), start=1):
        if not line.strip():
            if tokens:
                sentences.append(TaggedSentence(tuple(tokens), tuple(tags)))
                tokens, tags = [], []
            continue
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 10:
            raise DataFormatError(f"{path}:{number}: expected 10 TAB-separated CoNLL-U fields, found {len(fields)}")
        if "-" in fields[0] or "." in fields[0]:
            continue
        tokens.append(fields[1])
        tags.append(fields[column])
    if tokens:
        sentences.append(TaggedSentence(tuple(tokens), tuple(tags)))
    return sentences
