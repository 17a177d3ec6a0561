import json
from dataclasses import dataclass

import pytest
import torch

from seqlab import artifact
from seqlab.models import registry
from seqlab.models.registry import build
from seqlab.data.batching import pad


def test_save_load_identical_predictions(tmp_path):
    for section in ({"name": "rnn_classifier", "pooling": "attention"}, {"name": "textcnn"}):
        torch.manual_seed(1)
        model, cfg = build({**section, "vocab_size": 50, "num_classes": 4})
        model.eval()
        ids, lengths = pad([[4, 5, 6, 7], [8, 9], [10, 11, 12]], 0)
        before = model(ids, lengths)
        artifact.save(tmp_path / "m", model, cfg, "classification", {"task": "classification"}, {"labels": ["a", "b", "c", "d"]})
        art = artifact.load(tmp_path / "m")
        assert torch.equal(art.model(ids, lengths), before)
        assert art.files["labels"] == ["a", "b", "c", "d"] and art.model_config == cfg


@dataclass
class TiedConfig:
    name: str = "tied_toy"
    vocab_size: int = 12
    dim: int = 6


class TiedToy(torch.nn.Module):
    """Embedding and output layer share one matrix, as a weight-tied language model does."""

    def __init__(self, cfg: TiedConfig):
        super().__init__()
        self.embedding = torch.nn.Embedding(cfg.vocab_size, cfg.dim)
        self.out = torch.nn.Linear(cfg.dim, cfg.vocab_size)
        self.out.weight = self.embedding.weight

    def forward(self, ids):
        return self.out(self.embedding(ids))


def test_tied_weights_survive(tmp_path, monkeypatch):
    monkeypatch.setitem(registry.MODELS, "tied_toy", (TiedConfig, TiedToy))
    torch.manual_seed(0)
    model, cfg = build({"name": "tied_toy"})
    with torch.no_grad():
        model.embedding.weight.add_(1.0)
    artifact.save(tmp_path / "m", model, cfg, "toy")
    loaded = artifact.load(tmp_path / "m").model
    assert loaded.out.weight is loaded.embedding.weight  # still one tensor
    assert torch.equal(loaded.embedding.weight, model.embedding.weight)
    ids = torch.tensor([[1, 2, 3]])
    assert torch.equal(loaded(ids), model(ids))


def test_loading_never_unpickles(tmp_path, monkeypatch):
    model, cfg = build({"name": "textcnn", "vocab_size": 10, "num_classes": 2})
    artifact.save(tmp_path / "m", model, cfg, "classification")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]
    import pickle

    def refuse(*a, **k):
        raise AssertionError("unpickling during load")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    artifact.load(tmp_path / "m")


def test_errors_and_atomic_replace(tmp_path):
    with pytest.raises(artifact.ArtifactError, match="not a seqlab model directory"):
        artifact.load(tmp_path)
    model, cfg = build({"name": "bow", "vocab_size": 10, "num_classes": 2})
    artifact.save(tmp_path / "m", model, cfg, "classification")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config["schema_version"] = 99
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with pytest.raises(artifact.ArtifactError, match="schema_version 99"):
        artifact.load(tmp_path / "m")

    class Boom(Exception):
        pass

    artifact.save(tmp_path / "ok", model, cfg, "classification")
    with pytest.raises(Boom):
        with artifact.atomic_directory(tmp_path / "ok") as tmp:
            (tmp / "partial").write_text("x")
            raise Boom
    assert (tmp_path / "ok" / "model.safetensors").is_file()  # the previous artifact is intact
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
