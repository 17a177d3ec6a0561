"""Explanations and evaluation reports: integrated-gradients completeness, the deciding token found by every
method on a trained model, and the PNG / HTML / JSON files people look at."""

import json

import pytest
import torch

from seqlab.cli.main import main
from seqlab.evaluation import plots
from seqlab.evaluation.explain import explain
from seqlab.models.classifier import RecurrentClassifier, RecurrentClassifierConfig, TextCNN, TextCNNConfig


@pytest.mark.parametrize("kind", ["textcnn", "rnn_classifier"])
def test_integrated_gradients_satisfy_completeness(kind):
    torch.manual_seed(0)
    if kind == "textcnn":
        model = TextCNN(TextCNNConfig(vocab_size=40, num_classes=3, embed_dim=12, maps=6, widths=[2, 3]))
    else:
        model = RecurrentClassifier(RecurrentClassifierConfig(vocab_size=40, num_classes=3, embed_dim=12, hidden_size=10))
    ids = torch.randint(4, 40, (11,)).tolist()
    result = explain(model, [str(i) for i in ids], ids, ["a", "b", "c"], 0, ("integrated_gradients",), steps=300)
    model.eval()
    with torch.no_grad():
        c = ["a", "b", "c"].index(result["target"])
        p_x = model(torch.tensor([ids]), torch.tensor([11])).softmax(-1)[0, c]
        p_0 = model(torch.zeros(1, 11, dtype=torch.long), torch.tensor([11])).softmax(-1)[0, c]
    total = sum(result["attributions"]["integrated_gradients"])
    assert abs(total - float(p_x - p_0)) < 2e-3  # Σ attributions = p(x) − p(baseline)
    assert result["delta"] < 2e-3 and result["baseline_probability"] == pytest.approx(float(p_0), abs=1e-6)


def test_explain_finds_the_deciding_word_and_writes_every_rendering(write_recipe, tmp_path, capsys):
    recipe = write_recipe(model={"name": "textcnn", "embed_dim": 16, "maps": 8, "widths": [1, 2]}, epochs=6)
    assert main(["train", str(recipe), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    capsys.readouterr()
    text = "the film was a plot and superb story it"
    args = ["explain", str(tmp_path / "run"), text, "--html", str(tmp_path / "e.html"), "--png", str(tmp_path / "e.png")]
    assert main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["predicted"] == "pos"
    for method, scores in result["attributions"].items():  # "superb" carries the decision for every method
        assert result["tokens"][max(range(len(scores)), key=scores.__getitem__)] == "superb", method
    html = (tmp_path / "e.html").read_text()
    assert html.count("<span") == 3 * len(result["tokens"]) and "superb" in html
    png = (tmp_path / "e.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5_000
    assert main(["explain", str(tmp_path / "run"), text, "--method", "occlusion", "--target", "neg"]) == 0
    out = capsys.readouterr().out
    assert "attributions of p(neg)" in out and "superb" in out


def test_evaluate_report_writes_confusion_curves_and_worst_examples(write_recipe, tmp_path, capsys):
    recipe = write_recipe(epochs=2)
    assert main(["train", str(recipe), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run"), "--report", str(tmp_path / "report"), "--worst", "4", "--json"]) == 0
    scores = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for name in ("confusion.png", "curves.png"):
        data = (tmp_path / "report" / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 10_000
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["accuracy"] == pytest.approx(scores["accuracy"])
    assert set(report["per_class"]) == {"neg", "pos"}
    p_gold = [w["p_gold"] for w in report["worst"]]
    assert len(p_gold) == 4 and p_gold == sorted(p_gold)


def test_plots_are_written_and_not_empty(tmp_path):
    result = {"tokens": ["a", "fine", "film"], "predicted": "pos", "target": "pos",
              "probabilities": {"neg": 0.2, "pos": 0.8}, "attributions": {"occlusion": [0.0, 0.5, -0.1]}}
    written = [plots.attributions(result, tmp_path / "a.png"),
               plots.confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2], ["x", "y", "z"], tmp_path / "c.png"),
               plots.training_curves([{"step": 1, "loss": 2.0}, {"epoch": 1, "step": 2, "train_loss": 1.5, "dev_accuracy": 0.6}],
                                     tmp_path / "t.png"),
               plots.embedding_projection(["a", "b", "c", "d"], torch.randn(4, 5).numpy(), tmp_path / "p.png")]
    for path in written:
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5_000
