import numpy as np
import pytest
import torch

from seqlab.data.batching import pad
from seqlab.models.registry import MODELS, build


@pytest.mark.parametrize("name", sorted(MODELS))
def test_registry_builds_every_entry(name):
    if name == "rnn_regressor":
        model, cfg = build({"name": name, "input_size": 2, "outputs": 3})
        assert model(torch.randn(2, 5, 2)).shape == (2, 3)
        return
    if name == "tagger":
        model, cfg = build({"name": name, "vocab_size": 30, "char_vocab_size": 12, "tags": ["O", "B-X", "I-X"]})
        ids, lengths = pad([[5, 6, 7], [8]], 0)
        chars = torch.randint(1, 12, (2, 3, 4))
        assert model(ids, lengths, chars, torch.full((2, 3), 4)).shape == (2, 3, 3)
        return
    if name in ("seq2seq", "transformer"):
        sizes = {"hidden_size": 8, "embed_dim": 6} if name == "seq2seq" else {"d_model": 8, "heads": 2, "d_ff": 16}
        model, cfg = build({"name": name, "src_vocab_size": 20, "tgt_vocab_size": 15, **sizes})
        src, lengths = pad([[5, 6, 7], [8]], 0)
        assert model(src, lengths, torch.randint(4, 15, (2, 4))).shape == (2, 4, 15)
        return
    if name == "captioner":
        model, cfg = build({"name": name, "vocab_size": 12, "channels": [4, 8], "hidden_size": 8, "embed_dim": 6})
        logits, alpha = model(torch.rand(2, 1, 20, 72), torch.tensor([72, 40]), torch.randint(4, 12, (2, 3)))
        assert logits.shape == (2, 3, 12) and alpha.shape == (2, 3, 10 * 36)
        return
    if name == "rnn_lm":
        model, cfg = build({"name": name, "vocab_size": 30, "num_conditions": 2})
        logits, (h, c) = model(torch.randint(4, 30, (2, 5)), condition=torch.tensor([0, 1]))
        assert logits.shape == (2, 5, 30) and h.shape == (2, 2, 200)
        return
    model, cfg = build({"name": name, "vocab_size": 30, "num_classes": 3})
    assert cfg["name"] == name and cfg["vocab_size"] == 30
    ids, lengths = pad([[5, 6, 7], [8]], 0)
    assert model(ids, lengths).shape == (2, 3)


@pytest.mark.parametrize("section", [
    {"name": "rnn_classifier", "pooling": p, "cell": c, "bidirectional": b, "num_layers": 2}
    for p in ("last", "mean", "max", "attention") for c, b in (("lstm", True), ("gru", False), ("rnn", True))
] + [{"name": "textcnn", "embed_dim": 8, "maps": 4}, {"name": "bow"}])
def test_padding_does_not_change_an_example(section):
    """An example's logits are the same alone and padded in a batch with a longer one."""
    torch.manual_seed(0)
    model, _ = build({**section, "vocab_size": 40, "num_classes": 2})
    model.eval()
    short, long = [4, 9, 13], [5, 6, 7, 8, 9, 10, 11, 12, 30, 31]
    alone = model(*pad([short], 0))
    ids, lengths = pad([long, short], 0)
    together = model(ids, lengths)
    assert torch.allclose(alone[0], together[1], atol=1e-6)


def test_textcnn_short_sentence_and_empty():
    model, _ = build({"name": "textcnn", "vocab_size": 20, "num_classes": 2, "embed_dim": 8, "maps": 3})
    ids, lengths = pad([[4], []], 0)
    assert torch.isfinite(model(ids, lengths)).all()


def test_bow_matches_scikit_learn():
    rng = np.random.default_rng(0)
    itos = ["<pad>", "<unk>", "<bos>", "<eos>"] + [f"w{i}" for i in range(30)]
    docs = [list(rng.integers(1, len(itos), size=rng.integers(1, 15))) for _ in range(120)]
    for n_classes, lsa in ((2, 0), (3, 0), (2, 8), (3, 8)):  # TF-IDF, and TF-IDF → LSA (truncated SVD)
        labels = [int(d[0]) % n_classes for d in docs]
        model, _ = build({"name": "bow", "vocab_size": len(itos), "num_classes": n_classes, "sublinear_tf": True,
                          "lsa_components": lsa})
        model.fit_closed_form(itos, docs, labels)
        vectorizer, svd, classifier = model.sklearn
        features = vectorizer.transform(docs)
        features = svd.transform(features) if svd is not None else features
        expected = classifier.decision_function(features)
        logits = model(*pad(docs, 0)).detach().double().numpy()
        if n_classes == 2:
            np.testing.assert_allclose(logits[:, 1] - logits[:, 0], expected, atol=1e-4)
        else:
            np.testing.assert_allclose(logits, expected, atol=1e-4)
        assert (logits.argmax(1) == classifier.predict(features)).all()
