"""The top-level API: ``import seqlab`` stays torch-free (the OpenMP policy is chosen first), then
``seqlab.train`` / ``seqlab.load`` / ``seqlab.Predictor`` work from a recipe path."""

import subprocess
import sys

import seqlab


def test_import_is_light_and_the_api_loads_on_use():
    code = ("import sys, seqlab; assert 'torch' not in sys.modules; "
            "assert callable(seqlab.train) and callable(seqlab.load) and 'torch' in sys.modules; print('ok')")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "ok"


def test_train_load_predict_from_the_top(write_recipe, tmp_path):
    results = seqlab.train(str(write_recipe(epochs=1)), tmp_path / "run", progress=False)
    assert results["test"]["n"] == 60
    assert seqlab.load(tmp_path / "run").task == "classification"
    predictor = seqlab.Predictor(tmp_path / "run")
    one = predictor.predict("a fine film")
    assert len(one) == 1 and one[0]["text"] == "a fine film"  # a string is one text, not 11 characters
    assert [p["text"] for p in predictor.predict(["good", "bad"])] == ["good", "bad"]
