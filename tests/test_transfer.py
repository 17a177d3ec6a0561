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
    # with the LM's vocabulary (data.vocab_from) every word keeps the LM's row
    same = {**recipe, "data": {**recipe["data"], "vocab_from": str(tmp_path / "lm")}}
    (tmp_path / "same.yaml").write_text(yaml.safe_dump(same))
    assert main(["train", str(tmp_path / "same.yaml"), "--out", str(tmp_path / "same"), "--no-progress", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["encoder_from"]
    assert report["found"] == report["words"] == len(artifact.read_files(tmp_path / "lm", "vocab")["vocab"]["itos"])
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


def test_layer_groups_and_discriminative_rates_and_slanted_schedule():
    from seqlab.config import TrainConfig
    from seqlab.models.transfer import layer_groups
    from seqlab.training.optim import discriminative_groups, slanted

    clf = RecurrentClassifier(RecurrentClassifierConfig(vocab_size=10, num_classes=2, embed_dim=4, hidden_size=4,
                                                        num_layers=2))
    groups = layer_groups(clf, clf.encoder_parts())
    assert [len(g) for g in groups] == [1, 8, 8, 2]  # embedding; layer 0 and 1 (both directions); the head
    assert sum(len(g) for g in groups) == len(list(clf.parameters()))
    rates = [g["lr"] for g in discriminative_groups(groups, TrainConfig(lr=0.01, lr_group_decay=2.6))]
    assert rates == pytest.approx([0.01 / 2.6 ** 3, 0.01 / 2.6 ** 2, 0.01 / 2.6, 0.01])
    # ULMFiT eq. 3: 1/ratio at the start, 1 at the cut, falling back to 1/ratio at the end
    assert slanted(0, 100) == pytest.approx(1 / 32) and slanted(10, 100) == pytest.approx(1.0)
    assert slanted(100, 100) == pytest.approx(1 / 32) and slanted(5, 100) == pytest.approx((1 + 0.5 * 31) / 32)


def test_gradual_unfreezing_trains_one_more_group_each_epoch(tmp_path, capsys):
    data = {s: _write(tmp_path / f"{s}.tsv", make_examples(n, seed)) for s, n, seed in
            (("train", 60, 1), ("dev", 20, 2), ("test", 20, 3))}
    recipe = {"task": "classification", "data": {**data, "tokenizer": "whitespace"},
              "model": {"name": "rnn_classifier", "embed_dim": 8, "hidden_size": 8, "bidirectional": False},
              "train": {"epochs": 3, "batch_size": 16, "lr": 0.01, "unfreeze": "gradual", "lr_group_decay": 2.6,
                        "schedule": "slanted", "keep_epochs": 3, "patience": None}}
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(recipe))
    assert main(["train", str(tmp_path / "r.yaml"), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    assert "epoch 1: training the top 1 of 3 layer groups" in capsys.readouterr().err
    weights = [artifact.load(p).model for p in sorted((tmp_path / "run" / "epochs").iterdir())]
    emb = [m.encoder.embedding.weight for m in weights]
    rnn = [m.encoder.rnn.weight_ih_l0 for m in weights]
    head = [m.head.weight for m in weights]
    assert not torch.equal(head[0], head[1])  # the head trains from epoch 1
    assert not torch.equal(rnn[0], rnn[1])  # the LSTM joins in epoch 2 (frozen before it: the embedding shows how)
    assert torch.equal(emb[0], emb[1]) and not torch.equal(emb[1], emb[2])  # the embedding in epoch 3
    bad = {**recipe, "model": {"name": "textcnn"}}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    assert main(["train", str(tmp_path / "bad.yaml"), "--out", str(tmp_path / "bad"), "--no-progress"]) == 2
    assert "train.lr_group_decay: model textcnn has no layer groups" in capsys.readouterr().err


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("pooling", ["last", "max", "mean", "concat"])
@pytest.mark.parametrize("window", [1, 3, 7, 50])
def test_reading_in_windows_equals_reading_whole(cell, pooling, window):
    g = torch.Generator().manual_seed(window)
    cfg = dict(vocab_size=40, num_classes=3, embed_dim=6, hidden_size=5, num_layers=2, cell=cell,
               bidirectional=False, pooling=pooling, dropout=0.0)
    torch.manual_seed(2)
    whole = RecurrentClassifier(RecurrentClassifierConfig(**cfg)).eval()
    windowed = RecurrentClassifier(RecurrentClassifierConfig(**cfg, window=window)).eval()
    windowed.load_state_dict(whole.state_dict())
    lengths = torch.tensor([17, 1, 9, 4, 17])
    ids = torch.randint(2, 40, (5, 17), generator=g)
    ids[torch.arange(17).expand(5, -1) >= lengths.unsqueeze(1)] = 0  # padding after each text
    with torch.no_grad():
        assert torch.allclose(windowed(ids, lengths), whole(ids, lengths), atol=1e-5)


def test_windows_need_a_left_to_right_reader(tmp_path, capsys):
    from seqlab.config import ConfigError
    from seqlab.models.registry import build

    with pytest.raises(ConfigError, match="model.window: reading in windows needs bidirectional: false"):
        build({"name": "rnn_classifier", "window": 10, "bidirectional": True}, "r.yaml")


def test_per_class_sample_is_fixed_and_balanced():
    from seqlab.data.readers import TextExample
    from seqlab.tasks.classification.task import per_class_sample

    examples = [TextExample(f"t{i}", "pos" if i < 700 else "neg") for i in range(1000)]
    sample = per_class_sample(examples, 50, 1234)
    assert sorted(ex.label for ex in sample).count("pos") == 50 and len(sample) == 100
    assert sample == per_class_sample(examples, 50, 1234) and sample != per_class_sample(examples, 50, 1)


def test_an_lm_goes_on_training_on_a_task_text_from_every_weight_of_a_run(tmp_path, capsys):
    """ULMFiT's LM fine-tuning: ``data.vocab_from`` + ``train.init_from`` start a language model from every weight
    of a trained one (exactly), on other text; another size or vocabulary is refused in one line naming both."""
    from seqlab.config import ConfigError
    from seqlab.training.transfer import start_from_run

    general, task_text = tmp_path / "general.txt", tmp_path / "task.txt"
    general.write_text("".join(t + "\n" for t, _ in make_examples(300, 5)), encoding="utf-8")
    task_text.write_text("".join(t + "\n" for t, _ in make_examples(60, 9)), encoding="utf-8")
    model = {"name": "rnn_lm", "embed_dim": 12, "hidden_size": 12, "num_layers": 1, "softmax": "adaptive",
             "cutoffs": [8], "tie_weights": True}
    lm = {"task": "language_model", "data": {"corpus": [str(general)], "tokenizer": "whitespace", "dev_fraction": 0.1,
                                             "bptt": 10},
          "model": model, "train": {"epochs": 1, "batch_size": 8, "lr": 0.01}}
    (tmp_path / "lm.yaml").write_text(yaml.safe_dump(lm))
    assert main(["train", str(tmp_path / "lm.yaml"), "--out", str(tmp_path / "lm"), "--no-progress"]) == 0
    tuned = {**lm, "data": {**lm["data"], "corpus": [str(task_text)], "vocab_from": str(tmp_path / "lm")},
             "train": {**lm["train"], "init_from": str(tmp_path / "lm"), "schedule": "slanted"}}
    (tmp_path / "tuned.yaml").write_text(yaml.safe_dump(tuned))
    capsys.readouterr()
    assert main(["train", str(tmp_path / "tuned.yaml"), "--out", str(tmp_path / "tuned"), "--no-progress"]) == 0
    assert "every weight from" in capsys.readouterr().err
    source, result = artifact.load(tmp_path / "lm"), artifact.load(tmp_path / "tuned")
    assert result.files["vocab"] == source.files["vocab"]
    moved = [n for n, t in result.model.state_dict().items() if not torch.equal(t, source.model.state_dict()[n])]
    assert moved  # it trained on from there
    streamed = {**tuned, "data": {**tuned["data"], "stream": True}}  # the streamed reader borrows the words too
    (tmp_path / "streamed.yaml").write_text(yaml.safe_dump(streamed))
    assert main(["train", str(tmp_path / "streamed.yaml"), "--out", str(tmp_path / "streamed"), "--no-progress"]) == 0
    assert artifact.load(tmp_path / "streamed").files["vocab"] == source.files["vocab"]
    fresh = artifact.load(tmp_path / "tuned").model
    for p in fresh.parameters():
        torch.nn.init.normal_(p)
    start_from_run(fresh, str(tmp_path / "lm"), source.files["vocab"]["itos"])
    for name, tensor in source.model.state_dict().items():  # exactly the run's weights
        assert torch.equal(fresh.state_dict()[name], tensor)
    with pytest.raises(ConfigError, match="another vocabulary"):
        start_from_run(fresh, str(tmp_path / "lm"), source.files["vocab"]["itos"][:-1])
    for change, needle in (({"model": {**model, "hidden_size": 10}}, "no such tensor, this model [12]"),
                           ({"data": {**lm["data"], "corpus": [str(task_text)]}}, "set data.vocab_from")):
        bad = {**tuned, **change}
        (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
        assert main(["train", str(tmp_path / "bad.yaml"), "--out", str(tmp_path / "bad"), "--no-progress"]) == 2
        error = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
        assert len(error) == 1 and needle in error[0] and str(tmp_path / "lm") in error[0], error


def test_a_tagger_starts_from_an_lm_with_its_words_lowercased_as_the_lms(tmp_path, capsys):
    """A tagger's tokenizer keeps the case (its character features see it) while its words are lowercased: the
    LM's words are matched against the words (``word_form``), so a cased corpus still finds them."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the dog ran . a big cat sat . the man saw the dog .\n" * 40, encoding="utf-8")
    lm = {"task": "language_model", "data": {"corpus": [str(corpus)], "tokenizer": "whitespace", "lowercase": True,
                                             "dev_fraction": 0.1, "bptt": 10},
          "model": {"name": "rnn_lm", "embed_dim": 12, "hidden_size": 12, "num_layers": 1},
          "train": {"epochs": 1, "batch_size": 4, "lr": 0.01}}
    (tmp_path / "lm.yaml").write_text(yaml.safe_dump(lm))
    assert main(["train", str(tmp_path / "lm.yaml"), "--out", str(tmp_path / "lm"), "--no-progress"]) == 0
    sentences = [[("The", "B-NP"), ("Dog", "I-NP"), ("ran", "B-VP")], [("a", "B-NP"), ("big", "I-NP"),
                 ("cat", "I-NP"), ("sat", "B-VP")], [("the", "B-NP"), ("man", "I-NP"), ("saw", "B-VP")]] * 20
    conll = tmp_path / "train.conll"
    conll.write_text("".join("".join(f"{w} {t}\n" for w, t in s) + "\n" for s in sentences), encoding="utf-8")
    recipe = {"task": "tagging", "data": {"train": str(conll), "format": "conll", "tokenizer": "whitespace",
                                          "lowercase": True},
              "model": {"name": "tagger", "embed_dim": 12, "hidden_size": 12, "char_features": "none",
                        "encoder_from": str(tmp_path / "lm")},
              "train": {"epochs": 2, "batch_size": 8, "lr": 0.01, "lr_group_decay": 2.6, "unfreeze": "gradual"}}
    (tmp_path / "tagger.yaml").write_text(yaml.safe_dump(recipe))
    capsys.readouterr()
    assert main(["train", str(tmp_path / "tagger.yaml"), "--out", str(tmp_path / "tagger"), "--no-progress",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["encoder_from"]
    assert report["found"] == report["words"] and report["rnn_kept"]  # every word, Dog and The too; backward fresh
    assert main(["predict", str(tmp_path / "tagger"), "The big dog ran", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out.strip().splitlines()[-1])["predictions"][0]["tags"]) == 4
    cased = {**recipe, "data": {**recipe["data"], "lowercase": False}}
    (tmp_path / "cased.yaml").write_text(yaml.safe_dump(cased))
    assert main(["train", str(tmp_path / "cased.yaml"), "--out", str(tmp_path / "cased"), "--no-progress"]) == 2
    assert "(lowercase False)" in capsys.readouterr().err
