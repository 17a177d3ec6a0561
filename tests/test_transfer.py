"""A language model's encoder moved into a classifier or tagger (``model.encoder_from``): the vocabularies
matched word by word, the recurrent weights copied exactly, sizes and tokenizers that differ refused in one line,
and the result an ordinary model (saved, loaded, predicting)."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from conftest import make_examples
from seqlab import artifact
from seqlab.cli.main import main
from seqlab.models.classifier import RecurrentClassifier, RecurrentClassifierConfig
from seqlab.models.language_model import RecurrentLM, RecurrentLMConfig
from seqlab.models.transfer import TransferError, transfer_encoder

SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>"]


def _lm(vocab: int, embed: int = 8, hidden: int = 8) -> RecurrentLM:
    torch.manual_seed(0)
    return RecurrentLM(RecurrentLMConfig(vocab_size=vocab, embed_dim=embed, hidden_size=hidden, num_layers=1))


def test_words_are_matched_by_name_and_the_rest_start_at_the_mean():
    lm_words = [*SPECIALS, "film", "good", "bad"]
    words = [*SPECIALS, "bad", "plot", "film"]
    lm = _lm(len(lm_words))
    clf = RecurrentClassifier(RecurrentClassifierConfig(vocab_size=len(words), num_classes=2, embed_dim=8,
                                                        hidden_size=8, bidirectional=True))
    report = transfer_encoder(clf.encoder_parts(), lm.encoder_parts(), words, lm_words)
    emb, lm_emb = clf.encoder.embedding.weight, lm.embedding.weight
    assert torch.equal(emb[4], lm_emb[6]) and torch.equal(emb[6], lm_emb[4])  # bad, film: the LM's rows
    assert torch.allclose(emb[5], lm_emb.mean(0))  # plot: unknown to the LM
    assert torch.equal(emb[:4], lm_emb[:4])  # the shared specials
    assert (report["found"], report["mean_started"]) == (6, 1)
    for name, tensor in lm.rnn.state_dict().items():  # the forward direction is the LM's, exactly
        assert torch.equal(clf.encoder.rnn.state_dict()[name], tensor)
    assert report["rnn_kept"] and all("reverse" in n for n in report["rnn_kept"])


@pytest.mark.parametrize("embed, hidden, needle", [(6, 8, "embed_dim: 8"), (8, 10, "[32, 8], this model [40, 8]")])
def test_sizes_that_differ_are_refused_naming_both(embed, hidden, needle):
    lm = _lm(10)
    clf = RecurrentClassifier(RecurrentClassifierConfig(vocab_size=10, num_classes=2, embed_dim=embed, hidden_size=hidden))
    with pytest.raises(TransferError) as err:
        transfer_encoder(clf.encoder_parts(), lm.encoder_parts(), SPECIALS * 2 + ["a", "b"], [*SPECIALS] + list("abcdef"))
    assert needle in str(err.value)


def _write(path, rows):
    path.write_text("text\tlabel\n" + "".join(f"{t}\t{l}\n" for t, l in rows), encoding="utf-8")
    return str(path)


def test_a_classifier_trained_from_an_lm_run_saves_loads_and_predicts(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(t + "\n" for t, _ in make_examples(400, 7)), encoding="utf-8")
    lm_recipe = {"task": "language_model",
                 "data": {"corpus": [str(corpus)], "tokenizer": "whitespace", "dev_fraction": 0.1, "bptt": 10},
                 "model": {"name": "rnn_lm", "embed_dim": 12, "hidden_size": 12, "num_layers": 1, "softmax": "adaptive",
                           "cutoffs": [8], "tie_weights": True},
                 "train": {"epochs": 1, "batch_size": 8, "lr": 0.01, "log_every": 50}}
    (tmp_path / "lm.yaml").write_text(yaml.safe_dump(lm_recipe))
    assert main(["train", str(tmp_path / "lm.yaml"), "--out", str(tmp_path / "lm"), "--no-progress"]) == 0
    data = {s: _write(tmp_path / f"{s}.tsv", make_examples(n, seed)) for s, n, seed in
            (("train", 120, 1), ("dev", 40, 2), ("test", 40, 3))}
    recipe = {"task": "classification", "data": {**data, "tokenizer": "whitespace"},
              "model": {"name": "rnn_classifier", "embed_dim": 12, "hidden_size": 12, "bidirectional": False,
                        "pooling": "concat", "encoder_from": str(tmp_path / "lm")},
              "train": {"epochs": 2, "batch_size": 16, "lr": 0.01}}
    (tmp_path / "clf.yaml").write_text(yaml.safe_dump(recipe))
    capsys.readouterr()
    assert main(["train", str(tmp_path / "clf.yaml"), "--out", str(tmp_path / "clf"), "--no-progress", "--json"]) == 0
    out = capsys.readouterr()
    results = json.loads(out.out.strip().splitlines()[-1])
    report = results["encoder_from"]
    assert report["words"] == report["found"] + report["mean_started"] and report["found"] > 10
    assert "words found in its vocabulary" in out.err
    loaded = artifact.load(tmp_path / "clf" / "model")
    assert loaded.model.head.in_features == 36  # concat pooling: last ⊕ max ⊕ mean
    assert main(["predict", str(tmp_path / "clf"), "a good film", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["predictions"][0]["label"] in ("pos", "neg")
    # a recipe whose sizes or tokenizer differ from the LM's is refused in one line before training
    for change, needle in (({"embed_dim": 10}, "embed_dim: 12"), ({"hidden_size": 10}, "hidden_size")):
        bad = {**recipe, "model": {**recipe["model"], **change}}
        (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
        assert main(["train", str(tmp_path / "bad.yaml"), "--out", str(tmp_path / "bad"), "--no-progress"]) == 2
        assert needle in capsys.readouterr().err
    bad = {**recipe, "data": {**recipe["data"], "tokenizer": "basic_english"}}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    assert main(["train", str(tmp_path / "bad.yaml"), "--out", str(tmp_path / "bad2"), "--no-progress"]) == 2
    assert "trained with tokenizer whitespace" in capsys.readouterr().err
