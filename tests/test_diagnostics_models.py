"""``seqlab diagnose gradients --model DIR``: each task says what its first recurrent layer reads
(``Task.gradient_inputs``), so a saved adding model and a saved classifier are diagnosed, and others are refused
with a one-line reason naming the model."""

import pytest

from seqlab.tasks import load_recipe, recipe_from_dict
from seqlab.evaluation.diagnostics import model_report
from seqlab.training.run import train


def test_an_adding_model_reads_fresh_adding_sequences(tmp_path):
    recipe = recipe_from_dict({"task": "adding", "data": {"length": 12, "limit": 64},
                               "model": {"name": "rnn_regressor", "cell": "lstm", "hidden_size": 8},
                               "train": {"epochs": 1, "batch_size": 32}})
    train(recipe, tmp_path / "adding", progress=False)
    report = model_report(tmp_path / "adding", length=20, batch=4)
    assert len(report["grad_norm"]) == len(report["forget_product"]) == 20  # one per step of the fresh sequences
    assert all(v >= 0 for v in report["grad_norm"])


def test_a_classifier_reads_its_embedded_text_and_asks_for_one(write_recipe, tmp_path):
    train(load_recipe(write_recipe({"name": "rnn_classifier", "cell": "gru", "embed_dim": 8, "hidden_size": 8},
                                   epochs=1)), tmp_path / "clf", progress=False)
    report = model_report(tmp_path / "clf", text="a fine film with a fine cast")
    assert len(report["grad_norm"]) == 7  # one per token of the text
    assert "forget_product" not in report  # a GRU
    with pytest.raises(ValueError, match=r"clf: give --text for a classification model"):
        model_report(tmp_path / "clf")
