"""A task family added from outside: its own folder (a Task, a codec, an ONNX graph) and one registry line, then
trained, evaluated, predicted from, exported and served through the existing commands — nothing else in seqlab
learns its name. The toy family ("toy") reads like a classifier and answers with its own one-line summary."""

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

from seqlab.cli.main import main
from seqlab.tasks import TASKS

FAMILY = {
    "__init__.py": '"""A toy task family, outside seqlab."""\n',
    "task.py": (
        "from seqlab.tasks.classification.task import ClassificationTask\n\n\n"
        "class ToyTask(ClassificationTask):\n"
        "    name = 'toy'\n"),
    "codec.py": (
        "RUNTIME = 'classifier'  # an export runs as a classifier does\n\n\n"
        "def summary(result):\n"
        "    return f\"toy says {result['label']} ({result['probability']:.2f})\"\n"),
    "onnx.py": "from seqlab.tasks.classification.onnx import graph  # noqa: F401\n",
}


@pytest.fixture
def toy_family(tmp_path, monkeypatch):
    package = tmp_path / "toyfam"
    package.mkdir()
    for name, text in FAMILY.items():
        (package / name).write_text(text, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(TASKS, "toy", "toyfam:ToyTask")  # the one registry line
    yield
    for name in [m for m in sys.modules if m == "toyfam" or m.startswith("toyfam.")]:
        del sys.modules[name]


def test_a_new_family_trains_evaluates_predicts_exports_and_serves(toy_family, tiny_data, tmp_path, capsys):
    recipe = tmp_path / "toy.yaml"
    recipe.write_text(yaml.safe_dump({
        "task": "toy",
        "data": {"train": str(tiny_data["train"]), "dev": str(tiny_data["dev"]), "test": str(tiny_data["test"]),
                 "tokenizer": "whitespace"},
        "model": {"name": "rnn_classifier", "embed_dim": 16, "hidden_size": 16},
        "train": {"epochs": 2, "batch_size": 16, "lr": 0.01, "patience": None},
    }), encoding="utf-8")
    run = tmp_path / "run"
    assert main(["train", str(recipe), "--out", str(run), "--no-progress"]) == 0
    assert json.loads((run / "model" / "config.json").read_text())["task"] == "toy"

    capsys.readouterr()
    assert main(["evaluate", str(run), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    trained = json.loads((run / "results.json").read_text())
    assert scores["accuracy"] == pytest.approx(trained["test"]["accuracy"]) and scores["n"] == 60  # the run's figure

    assert main(["predict", str(run), "a fine film"]) == 0
    assert capsys.readouterr().out.startswith("toy says ")  # the family's own summary, through its codec

    exported = tmp_path / "export"
    assert main(["export", str(run), "--out", str(exported)]) == 0
    assert json.loads((exported / "export.json").read_text())["task"] == "toy"

    from fastapi.testclient import TestClient

    from seqlab.inference import load
    from seqlab.serving.app import create_app

    texts = ["a fine film", "a dull film", "the plot"]
    torch_side, onnx_side = load(run), load(exported)
    assert onnx_side.task_name == "toy"
    assert [r["label"] for r in torch_side.predict(texts)] == [r["label"] for r in onnx_side.predict(texts)]
    with TestClient(create_app([torch_side, onnx_side])) as http:
        models = {m["name"]: m["task"] for m in http.get("/models").json()}
        assert set(models.values()) == {"toy"}
        for name in models:
            answer = http.post(f"/v1/{name}/predict", json={"inputs": texts})
            assert answer.status_code == 200 and len(answer.json()["outputs"]) == 3


SERVE = """import sys
sys.path.insert(0, {folder!r})
from seqlab.tasks import TASKS
TASKS["toy"] = "toyfam:ToyTask"  # the one registry line
from seqlab.cli.main import main
sys.exit(main(["serve", "toy={run}", "toyonnx={export}", "--port", "{port}", "--no-access-log"]))
"""


def test_the_serve_command_serves_the_new_family(toy_family, tiny_data, tmp_path, capsys):
    """``seqlab serve`` itself (its own process, the family registered by its one line) answers for the torch
    model and its ONNX export alike."""
    recipe = tmp_path / "toy.yaml"
    recipe.write_text(yaml.safe_dump({
        "task": "toy", "data": {"train": str(tiny_data["train"]), "tokenizer": "whitespace"},
        "model": {"name": "rnn_classifier", "embed_dim": 8, "hidden_size": 8},
        "train": {"epochs": 1, "batch_size": 16, "lr": 0.01}}), encoding="utf-8")
    run, export = tmp_path / "run", tmp_path / "export"
    assert main(["train", str(recipe), "--out", str(run), "--no-progress"]) == 0
    assert main(["export", str(run), "--out", str(export)]) == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = SERVE.format(folder=str(tmp_path), run=run, export=export, port=port)
    server = subprocess.Popen([sys.executable, "-c", script], stderr=open(tmp_path / "serve.log", "w"))
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/health", timeout=1)
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                time.sleep(0.1)
        models = json.load(urllib.request.urlopen(base + "/models", timeout=5))
        assert {m["name"]: m["task"] for m in models} == {"toy": "toy", "toyonnx": "toy"}
        answers = []
        for name in ("toy", "toyonnx"):
            request = urllib.request.Request(f"{base}/v1/{name}/predict", json.dumps({"inputs": ["a fine film"]}).encode(),
                                             {"Content-Type": "application/json"})
            answers.append(json.load(urllib.request.urlopen(request, timeout=10))["outputs"][0]["label"])
        assert answers[0] == answers[1] and answers[0] in ("pos", "neg")
    finally:
        server.terminate()
        server.wait(timeout=30)
