"""The scoring half of ``benchmarks/peers.py``: what both sides read and how their curves are compared (the
figures RESULTS reports from it). The peers themselves run only in the benchmark."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load(name: str):
    """A benchmark script as ``python benchmarks/NAME.py`` loads it: its own folder first on the path."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return module


peers = load("peers")


def test_seqlab_reaches_the_peer_final_score_when_its_curve_first_meets_it():
    ours = {"curve": [(10.0, 70.0), (20.0, 76.0), (30.0, 78.0)], "final": 78.0, "train_seconds": 30.0}
    peer = {"curve": [(100.0, 60.0), (400.0, 76.0)], "final": 76.0, "train_seconds": 400.0}
    assert peers.reach(ours, peer) == {"seqlab_seconds_to_peer_final": 20.0, "peer_train_seconds": 400.0,
                                       "ratio": 0.05}
    never = {"curve": [(10.0, 70.0)], "final": 70.0, "train_seconds": 10.0}
    assert peers.reach(never, peer)["ratio"] is None
    # a closed-form fit has one point: its final model counts when it is at least the peer's
    bow = {"curve": [], "final": 77.0, "train_seconds": 2.0}
    assert peers.reach(bow, peer)["seqlab_seconds_to_peer_final"] == 2.0


def test_a_peer_that_predicts_another_number_of_texts_is_refused(tmp_path):
    log = tmp_path / "peer.jsonl"
    log.write_text(json.dumps({"train_seconds": 1.0, "pred": ["pos", "neg"]}) + "\n")
    with pytest.raises(SystemExit, match="2 predictions for 3 test texts"):
        peers.peer_curve(log, ["pos", "neg", "pos"])
    log.write_text(json.dumps({"train_seconds": 1.0, "pred": ["pos", "neg", "neg"]}) + "\n"
                   + json.dumps({"final": True, "train_seconds": 2.0, "pred": ["pos", "neg", "pos"]}) + "\n")
    scored = peers.peer_curve(log, ["pos", "neg", "pos"])
    assert scored["curve"] == [(1.0, pytest.approx(200 / 3))] and scored["final"] == 100.0
    assert scored["train_seconds"] == 2.0


def test_both_sides_read_the_same_mr_files(tmp_path):
    sets = peers.export_classification("mr", tmp_path)
    from seqlab.tasks import load_recipe
    from seqlab.tasks import get_task

    recipe = load_recipe(ROOT / "recipes" / "mr-bilstm.yaml", overrides=sets)
    _, splits = get_task("classification").from_recipe(recipe.data, str(recipe.source))
    for split in ("train", "dev", "test"):
        rows = (tmp_path / f"{split}.tsv").read_text(encoding="utf-8").splitlines()[1:]
        read = getattr(splits, split)
        assert len(rows) == len(read) > 0
        assert [r.split("\t", 1)[0] for r in rows] == [ex.label for ex in read]
    assert peers.gold_labels(tmp_path) == [ex.label for ex in splits.test]


def test_fasttext_sees_text_as_its_tutorial_prepares_it():
    fasttext_side = load("peers_fasttext")
    assert fasttext_side.normalise("It's GOOD, (really)!  Yes.") == "it ' s good , ( really ) ! yes ."
