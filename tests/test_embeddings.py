"""Word vectors: exact round trips through every format, vocabulary alignment, word2vec learning on a
corpus with known structure, Kim's static / multichannel embeddings, and the projection plot."""

import hashlib
import json
import random

import numpy as np
import pytest
import torch
import yaml

from seqlab.cli.main import main
from seqlab.data.vectors import load_into
from seqlab.embeddings import evaluate as ev
from seqlab.embeddings.io import FORMATS, from_matrix, guess_format, load_vectors, save_vectors
from seqlab.embeddings.train import Word2VecSettings, read_corpus, train_word2vec
from seqlab.layers.embedding import embedding


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_import_round_trip_is_exact(tmp_path, fmt):
    rng = np.random.default_rng(0)
    words = ["the", "König", "naïve", "x1", "東京", "a-b"]
    matrix = (rng.standard_normal((6, 7)) * 10.0 ** rng.integers(-6, 3, (6, 7))).astype(np.float32)
    path = save_vectors(from_matrix(words, matrix), tmp_path / ("v.bin" if fmt == "word2vec-binary" else "v.txt"), fmt)
    assert guess_format(path) == fmt
    back = load_vectors(path)
    assert back.index_to_key == words
    assert np.array_equal(back.vectors, matrix)  # bit for bit


@pytest.mark.parametrize("suffix,fmt", [("txt", "word2vec"), ("glove.txt", "glove"), ("bin", "word2vec-binary")])
def test_vocabulary_alignment_maps_the_right_row_to_each_word(tmp_path, suffix, fmt):
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(20)] + ["Paris"]
    matrix = rng.standard_normal((21, 5)).astype(np.float32)
    path = save_vectors(from_matrix(words, matrix), tmp_path / f"v.{suffix}", fmt)
    itos = ["<pad>", "<unk>", "<bos>", "<eos>", "w7", "nothere", "w0", "paris", "w19"]
    emb = embedding(len(itos), 5, 0, 0.1)
    before = emb.weight.detach().clone()
    report = load_into(emb, path, itos)
    assert report["found"] == 4 and report["words"] == 5 and report["coverage"] == pytest.approx(0.8)
    for row, word in ((4, "w7"), (6, "w0"), (7, "Paris"), (8, "w19")):  # "paris" found through its lower-case form
        assert torch.equal(emb.weight[row], torch.from_numpy(matrix[words.index(word)]))
    for row in (0, 1, 2, 3, 5):  # specials and the missing word keep their initialisation
        assert torch.equal(emb.weight[row], before[row])


def clustered_corpus(n: int = 3000, seed: int = 0) -> list[list[str]]:
    """Sentences drawn from one of two disjoint word groups: words co-occur only within their group."""
    rng = random.Random(seed)
    groups = [[f"a{i}" for i in range(8)], [f"b{i}" for i in range(8)]]
    return [rng.choices(groups[rng.randrange(2)], k=8) for _ in range(n)]


def test_word2vec_learns_which_words_share_contexts():
    vectors = train_word2vec(clustered_corpus(), Word2VecSettings(dim=16, min_count=1, epochs=5, workers=1))
    for word in ("a0", "b3"):
        near = [w for w, _ in ev.neighbours(vectors, word, 5)]
        assert all(w[0] == word[0] for w in near), near
    with pytest.raises(ValueError, match="not in the vectors' vocabulary"):
        ev.neighbours(vectors, "zzz")


def test_embed_cli_train_reads_several_corpora_as_one(tmp_path, capsys):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("\n".join(" ".join(s) for s in clustered_corpus(300)), encoding="utf-8")
    second.write_text("Zebra crossing\n\nzebra Crossing\n", encoding="utf-8")
    args = ["embed", "train", str(first), str(second), "--lowercase", "--dim", "8", "--min-count", "1", "--epochs", "1",
            "--out", str(tmp_path / "v.txt"), "--json"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["sentences"] == 300 + 2 and result["tokens"] == 300 * 8 + 4
    assert result["words"] == 16 + 2  # zebra, crossing: lowercased across the second file's lines


def test_embed_cli_train_repeats_byte_for_byte_with_one_worker(tmp_path, capsys, monkeypatch):
    # RESULTS' TREC-6 vectors were trained with gensim's workers = the machine's cores, and could not be made
    # again: the default is one worker, whatever SEQLAB_THREADS says, and the file's sha256 is reported
    monkeypatch.setenv("SEQLAB_THREADS", "2")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(" ".join(s) for s in clustered_corpus(3000)), encoding="utf-8")
    shown = []
    for name in ("a.txt", "b.txt"):
        assert main(["embed", "train", str(corpus), "--dim", "16", "--min-count", "1", "--epochs", "2",
                     "--out", str(tmp_path / name), "--json"]) == 0
        shown.append(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))
    assert (tmp_path / "a.txt").read_bytes() == (tmp_path / "b.txt").read_bytes()
    assert shown[0]["sha256"] == shown[1]["sha256"] == hashlib.sha256((tmp_path / "a.txt").read_bytes()).hexdigest()
    assert shown[0]["settings"]["workers"] == 1


def test_embed_cli_train_evaluate_convert_plot(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(" ".join(s) for s in clustered_corpus(800)), encoding="utf-8")
    vec = tmp_path / "v.txt"
    assert main(["embed", "train", str(corpus), "--dim", "8", "--min-count", "1", "--epochs", "2", "--out", str(vec), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["words"] == 16 and result["tokens"] == 800 * 8
    assert result["analogy"]["questions"] == 19544 and result["analogy"]["answered"] == 0
    assert main(["embed", "convert", str(vec), str(tmp_path / "v.bin"), "--to", "word2vec-binary", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == {"vectors": 16, "dim": 8, "out": str(tmp_path / "v.bin"),
                                                                           "format": "word2vec-binary"}
    assert np.array_equal(load_vectors(tmp_path / "v.bin").vectors, load_vectors(vec).vectors)
    assert main(["embed", "plot", str(tmp_path / "v.bin"), "--method", "tsne", "--out", str(tmp_path / "p.png"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["words"] == 16
    png = (tmp_path / "p.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    assert main(["embed", "neighbours", str(vec), "a1", "--json", "-k", "3"]) == 0
    capsys.readouterr()
    assert main(["embed", "neighbours", str(vec), "nope"]) == 2
    assert "'nope' is not in the vectors' vocabulary" in capsys.readouterr().err


def test_analogy_and_gensim_evaluations_on_planted_vectors():
    # vectors where king − man + woman = queen exactly, and similarity follows a planted order
    words = ["king", "man", "woman", "queen", "apple"]
    m = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 1, 0], [0, 0, 0, 1]], dtype=np.float32)
    kv = from_matrix(words, m)
    assert ev.analogy(kv, "king", "man", "woman", 1)[0][0] == "queen"


def test_static_and_multichannel_textcnn_keep_the_frozen_vectors(tmp_path, tiny_data, capsys):
    rng = np.random.default_rng(2)
    words = ["good", "bad", "the", "film", "great", "awful"]
    vectors = save_vectors(from_matrix(words, rng.standard_normal((6, 16)).astype(np.float32)), tmp_path / "v.txt")
    base = {"task": "classification",
            "data": {"train": str(tiny_data["train"]), "dev": str(tiny_data["dev"]), "test": str(tiny_data["test"]),
                     "tokenizer": "whitespace", "vectors": str(vectors)},
            "model": {"name": "textcnn", "embed_dim": 16, "maps": 4},
            "train": {"epochs": 2, "batch_size": 16, "lr": 0.01, "patience": None, "log_every": 0}}
    from seqlab.artifact import load

    for name, model_extra, train_extra in (("static", {}, {"freeze": ["embedding.weight"]}),
                                           ("multi", {"multichannel": True}, {})):
        recipe = {**base, "model": {**base["model"], **model_extra}, "train": {**base["train"], **train_extra}}
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
        assert main(["train", str(path), "--out", str(tmp_path / name), "--no-progress"]) == 0
        model = load(tmp_path / name).model
        vocab = json.loads((tmp_path / name / "model" / "vocab.json").read_text())["itos"]
        good = vocab.index("good")
        frozen = model.embedding if name == "static" else model.static_embedding
        assert torch.equal(frozen.weight[good], torch.tensor(load_vectors(vectors)["good"]))
        if name == "multi":  # the tuned channel moved away from the same start
            assert not torch.equal(model.embedding.weight[good], frozen.weight[good])
    assert "pretrained vectors: 6 of" in capsys.readouterr().err


def test_read_corpus_takes_any_split_of_a_dataset_by_name():
    train, test = read_corpus("mr", "kim"), read_corpus("mr:test", "kim")
    assert len(train) > 5 * len(test) > 0
    assert read_corpus("mr:train", "kim") == train
    with pytest.raises(ValueError, match="mr:valid: the split must be one of train, dev, test"):
        read_corpus("mr:valid")


def test_imdb_unsup_is_a_text_only_split_read_as_a_stream(shared_data):
    from seqlab.data.datasets import corpus_texts

    stream = corpus_texts("imdb:unsup")
    first = next(stream)
    assert first.startswith("I admit, the great majority of films")
    assert sum(1 for _ in stream) == 49_999
    with pytest.raises(ValueError, match="imdb:valid: the split must be one of train, dev, test, unsup"):
        next(corpus_texts("imdb:valid"))
