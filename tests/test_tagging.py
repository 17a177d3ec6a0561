"""Sequence labelling: readers, tag schemes, strict-IOB2 F1 against seqeval, the tagger trained through the one
loop on tiny data (CRF and softmax, BIO and BIOES), and `seqlab tag`."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seqlab import metrics
from seqlab.cli.main import main
from seqlab.tasks import recipe_from_dict
from seqlab.data.readers import DataFormatError, read_conll, read_conllu
from seqlab.data.tags import to_bio, to_bioes
from seqlab.training.run import train


def test_conll_reader_and_errors(tmp_path):
    path = tmp_path / "a.conll"
    path.write_text("He PRP B-NP\nran VBD B-VP\n\t\nOk UH O\n", encoding="utf-8")
    sents = read_conll(path)
    assert [s.tokens for s in sents] == [("He", "ran"), ("Ok",)]  # a tab-only line separates sentences
    assert sents[0].tags == ("B-NP", "B-VP")
    assert read_conll(path, tag_column=1)[0].tags == ("PRP", "VBD")
    path.write_text("He PRP B-NP\nran B-VP\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"a.conll:2: expected 3 columns"):
        read_conll(path)


def test_conllu_reader_skips_ranges_and_comments(tmp_path):
    row = lambda i, w, u: f"{i}\t{w}\t{w.lower()}\t{u}\tX\t_\t0\troot\t_\t_"  # noqa: E731
    path = tmp_path / "a.conllu"
    path.write_text("# text = I'm ok\n" + "\n".join(["1-2\tI'm\t_\t_\t_\t_\t_\t_\t_\t_", row(1, "I", "PRON"),
                    row(2, "'m", "AUX"), row(3, "ok", "ADJ")]) + "\n\n", encoding="utf-8")
    (s,) = read_conllu(path)
    assert s.tokens == ("I", "'m", "ok") and s.tags == ("PRON", "AUX", "ADJ")
    path.write_text("1\tI\tPRON\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"a.conllu:1: expected 10 TAB-separated"):
        read_conllu(path)


@given(st.lists(st.sampled_from(["O", "B-X", "I-X", "B-Y", "I-Y"]), max_size=12))
def test_bioes_round_trip(raw):
    bio = [t if not (t.startswith("I-") and (i == 0 or raw[i - 1][2:] != t[2:] or raw[i - 1] == "O")) else "B" + t[1:]
           for i, t in enumerate(raw)]  # make it valid IOB2
    assert to_bio(to_bioes(bio)) == bio


def test_chunk_f1_equals_seqeval_strict():
    from seqeval.metrics import f1_score, precision_score, recall_score
    from seqeval.scheme import IOB2

    gold = [["B-NP", "I-NP", "O", "B-VP", "B-NP"], ["B-PP", "B-NP", "I-NP", "I-NP"]]
    pred = [["B-NP", "I-NP", "O", "I-VP", "B-NP"], ["B-PP", "B-NP", "I-NP", "O"]]  # invalid I-VP start; short NP
    scores = metrics.chunk_scores(gold, pred)
    assert scores["f1"] == pytest.approx(f1_score(gold, pred, mode="strict", scheme=IOB2))
    assert scores["precision"] == pytest.approx(precision_score(gold, pred, mode="strict", scheme=IOB2))
    assert scores["recall"] == pytest.approx(recall_score(gold, pred, mode="strict", scheme=IOB2))
    assert scores["precision"] == pytest.approx(3 / 4) and scores["recall"] == pytest.approx(3 / 5)
    assert f1_score(gold, pred) > scores["f1"]  # the lenient default accepts the I-VP start


def write_chunk_corpus(path, n, seed):
    import random

    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.5:
                words = rng.choice([["the", "dog"], ["a", "big", "cat"], ["The", "Man"]])
                lines += [f"{w} DT {'B' if i == 0 else 'I'}-NP" for i, w in enumerate(words)]
            else:
                lines.append(f"{rng.choice(['ran', 'sat', 'saw'])} VB B-VP")
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("crf,scheme,chars", [(True, "bio", "cnn"), (False, "bio", "none"), (True, "bioes", "lstm")])
def test_tagger_learns_tiny_chunking(tmp_path, crf, scheme, chars):
    recipe = recipe_from_dict({
        "task": "tagging",
        "data": {"train": str(write_chunk_corpus(tmp_path / "train.conll", 150, 1)),
                 "test": str(write_chunk_corpus(tmp_path / "test.conll", 40, 2)), "format": "conll", "tag_scheme": scheme},
        "model": {"name": "tagger", "embed_dim": 16, "hidden_size": 16, "char_features": chars, "char_hidden": 8, "crf": crf},
        "train": {"epochs": 6, "batch_size": 8, "lr": 0.01, "monitor": "f1", "patience": None},
    })
    results = train(recipe, tmp_path / "run", progress=False)
    assert results["test"]["f1"] > 0.9 and results["test"]["accuracy"] > 0.9
    assert set(results["test"]["per_type"]) == {"NP", "VP"}  # precision / recall / F1 per chunk type


def test_tag_cli(tmp_path, capsys):
    recipe = recipe_from_dict({
        "task": "tagging",
        "data": {"train": str(write_chunk_corpus(tmp_path / "train.conll", 120, 3)), "format": "conll"},
        "model": {"name": "tagger", "embed_dim": 16, "hidden_size": 16, "char_hidden": 8},
        "train": {"epochs": 5, "batch_size": 8, "lr": 0.01, "monitor": "f1", "patience": None},
    })
    train(recipe, tmp_path / "run", progress=False)
    capsys.readouterr()
    assert main(["tag", str(tmp_path / "run"), "the dog sat", "", "a big cat saw The Man", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["sentences"]
    assert out[0]["tokens"] == ["the", "dog", "sat"] and out[0]["tags"] == ["B-NP", "I-NP", "B-VP"]
    assert out[1]["tags"] == [] and len(out[2]["tags"]) == 6
    assert main(["tag", str(tmp_path / "run"), "the dog"]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == ["the\tB-NP", "dog\tI-NP"]


def test_feature_columns_feed_the_tagger(tmp_path):
    """An extra input column (here the POS column) is read, embedded and saved with the model."""
    recipe = recipe_from_dict({
        "task": "tagging",
        "data": {"train": str(write_chunk_corpus(tmp_path / "train.conll", 100, 4)), "format": "conll",
                 "feature_columns": [1]},
        "model": {"name": "tagger", "embed_dim": 8, "hidden_size": 8, "char_features": "none", "feature_dim": 4},
        "train": {"epochs": 4, "batch_size": 8, "lr": 0.02, "monitor": "f1", "patience": None},
    })
    results = train(recipe, tmp_path / "run", progress=False)
    assert results["dev"]["f1"] > 0.9
    from seqlab.evaluation.evaluate import evaluate_dir, load_task

    art, task = load_task(tmp_path / "run")
    assert art.model_config["feature_sizes"] == [len(task.features[0])] and len(art.model.features) == 1
    assert evaluate_dir(tmp_path / "run", "dev")["f1"] == pytest.approx(results["dev"]["f1"])
    other = write_chunk_corpus(tmp_path / "other.conll", 30, 9)  # a CoNLL file given to `evaluate --data`
    assert evaluate_dir(tmp_path / "run", data=str(other))["n"] == 30
    from seqlab.data.readers import TaggedSentence

    with pytest.raises(ValueError, match="input column"):  # plain text lacks the POS column
        task.encode([TaggedSentence(("the", "dog"))])


def test_pretrained_vectors_align_to_the_vocabulary(tmp_path):
    import torch

    from seqlab.data.vectors import align, read_text_vectors

    path = tmp_path / "vec.txt"
    path.write_text("3 2\nthe 1.0 2.0\nDog 3.0 4.0\nzebra 5.0 6.0\n", encoding="utf-8")
    assert read_text_vectors(path)["zebra"] == [5.0, 6.0]
    itos = ["<pad>", "<unk>", "<bos>", "<eos>", "the", "dog", "cat"]
    found, report = align(path, itos)
    assert sorted(found) == [4, 5] and report["found"] == 2 and report["coverage"] == pytest.approx(2 / 3)
    assert torch.equal(found[5], torch.tensor([3.0, 4.0]))  # "dog" matched "Dog" case-insensitively
    (tmp_path / "glove.txt").write_text("the 1 2\ndog 3 4\n", encoding="utf-8")
    found, _ = align(tmp_path / "glove.txt", itos)
    assert torch.equal(found[5], torch.tensor([3.0, 4.0]))  # row of "dog" gets dog's vector
    recipe = recipe_from_dict({
        "task": "tagging",
        "data": {"train": str(write_chunk_corpus(tmp_path / "train.conll", 40, 6)), "format": "conll",
                 "vectors": str(tmp_path / "glove8.txt")},
        "model": {"name": "tagger", "embed_dim": 8, "hidden_size": 8, "char_features": "none"},
        "train": {"epochs": 1, "batch_size": 8, "lr": 0.01, "freeze": ["embedding.weight"], "monitor": "f1",
                  "patience": None},
    })
    (tmp_path / "glove8.txt").write_text("dog " + " ".join(["0.5"] * 8) + "\n", encoding="utf-8")
    results = train(recipe, tmp_path / "run", progress=False)
    assert results["pretrained_vectors"]["found"] == 1
    from seqlab.tasks import load_task

    art, task = load_task(tmp_path / "run")
    row = art.model.word_embedding().weight[task.vocab.stoi["dog"]]
    assert torch.allclose(row, torch.full((8,), 0.5))  # frozen: the loaded vector is what was saved


def _conlleval_chunks(tags: list[str]) -> set[tuple[int, int, str]]:
    """Chunks by conlleval.pl's startOfChunk / endOfChunk rules (IOB tags; an I-X after O or another type starts
    a chunk), the reference for ``f1_conlleval``."""
    chunks, start, kind = set(), None, None
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, typ = tag.partition("-")
        ends = start is not None and (prefix in ("B", "O") or typ != kind)
        if ends:
            chunks.add((start, i, kind))
            start = kind = None
        if prefix == "B" or (prefix == "I" and start is None):
            start, kind = i, typ
    return chunks


def test_conlleval_f1_matches_conlleval_rules_on_random_ill_formed_corpora():
    import random

    from seqlab.metrics import chunk_scores

    rng = random.Random(7)
    tags = ["O", "B-NP", "I-NP", "B-VP", "I-VP"]
    differ = 0
    for _ in range(300):
        gold = [[rng.choice(tags) for _ in range(rng.randint(1, 12))] for _ in range(rng.randint(1, 6))]
        pred = [[rng.choice(tags) for _ in g] for g in gold]
        found = sum(len(_conlleval_chunks(p)) for p in pred)
        truth = sum(len(_conlleval_chunks(g)) for g in gold)
        right = sum(len(_conlleval_chunks(p) & _conlleval_chunks(g)) for p, g in zip(pred, gold))
        f1 = 2 * right / (found + truth) if found + truth else 0.0
        scores = chunk_scores(gold, pred)
        assert scores["f1_conlleval"] == pytest.approx(f1, abs=1e-12)
        differ += abs(scores["f1"] - scores["f1_conlleval"]) > 1e-9
    assert differ > 100  # random tags are often ill-formed: strict IOB2 and conlleval then disagree
