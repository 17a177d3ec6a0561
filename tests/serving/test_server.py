"""seqlab serve's HTTP API with FastAPI's test client: every endpoint and every error, and micro-batching."""

from __future__ import annotations

import asyncio
import json

import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi) is not installed: pip install 'seqlab[serve]'")
from fastapi.testclient import TestClient  # noqa: E402

from seqlab import inference  # noqa: E402
from seqlab.serving.app import create_app  # noqa: E402
from seqlab.serving.predictor import Limits  # noqa: E402


@pytest.fixture(scope="module")
def predictors(models):
    limits = Limits(inputs=8, input_tokens=50, new_tokens=60)
    return [inference.load(models[name], limits) for name in ("classifier", "tagger", "lm", "seq2seq")]


@pytest.fixture
def client(predictors):
    return TestClient(create_app(predictors, max_body=4096))


def test_health_models_and_the_page(client):
    assert client.get("/health").json() == {"status": "ok", "models": ["classifier", "tagger", "lm", "seq2seq"]}
    listed = {m["name"]: m for m in client.get("/models").json()}
    assert listed["classifier"]["task"] == "classification" and listed["classifier"]["labels"] == ["neg", "pos"]
    assert listed["lm"]["options"]["top_p"]["type"] == "float" and listed["seq2seq"]["options"]["penalty"]["choices"]
    page = client.get("/")
    assert page.status_code == 200 and "<title>seqlab</title>" in page.text and "https://" not in page.text  # no CDN
    schema = client.get("/openapi.json").json()
    assert {"/v1/{name}/predict", "/v1/{name}/generate", "/models", "/health"} <= set(schema["paths"])


def test_predict_answers_as_the_python_api(client, predictors):
    for predictor, text, options in [(predictors[0], "a superb film", {}), (predictors[1], "the dog ran", {}),
                                     (predictors[2], "to be", {"seed": 2, "max_tokens": 20}),
                                     (predictors[3], "abc", {"n_best": 2, "attention": True})]:
        response = client.post(f"/v1/{predictor.name}/predict", json={"inputs": [text], "options": options})
        assert response.status_code == 200, response.text
        assert response.json()["outputs"] == json.loads(json.dumps(predictor.predict([text], options)))


def test_generate_streams_server_sent_events(client, predictors):
    options = {"seed": 4, "max_tokens": 30}
    with client.stream("POST", "/v1/lm/generate", json={"input": "to be", "options": options}) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        body = "".join(response.iter_text())
    events = [(b.split("\n")[0].removeprefix("event: "), json.loads(b.split("\n")[1].removeprefix("data: ")))
              for b in body.strip().split("\n\n")]
    assert events[-1][0] == "done" and all(kind == "token" for kind, _ in events[:-1]) and len(events) > 2
    assert "".join(e["text"] for _, e in events[:-1]) == events[-1][1]["text"] == predictors[2].predict(["to be"], options)[0]["text"]


@pytest.mark.parametrize("method, path, body, status, needle", [
    ("post", "/v1/nope/predict", {"inputs": ["x"]}, 404, "no model 'nope' (serving: classifier, tagger, lm, seq2seq)"),
    ("post", "/v1/classifier/predict", {"inputs": [""]}, 422, "inputs[0]: empty text"),
    ("post", "/v1/classifier/predict", {"inputs": []}, 422, "inputs: empty list"),
    ("post", "/v1/classifier/predict", {"inputs": ["a"] * 9}, 413, "inputs: 9 texts, over the limit of 8 per call"),
    ("post", "/v1/classifier/predict", {"inputs": ["w " * 51]}, 413, "inputs[0]: 51 tokens, over the limit of 50"),
    ("post", "/v1/classifier/predict", {"inputs": ["a " * 3000]}, 413, "request body over the limit of 4,096 bytes"),
    ("post", "/v1/classifier/predict", {"inputs": ["x"], "options": {"beam": 2}}, 422, "options.beam: unknown option"),
    ("post", "/v1/classifier/predict", {"texts": ["x"]}, 422, "inputs: Field required"),
    ("post", "/v1/classifier/predict", {"inputs": [1]}, 422, "inputs"),
    ("post", "/v1/lm/predict", {"inputs": ["x"], "options": {"top_p": 2}}, 422, "options.top_p: must be in (0, 1]"),
    ("post", "/v1/lm/predict", {"inputs": ["x"], "options": {"max_tokens": 61}}, 413, "over the limit of 60 generated"),
    ("post", "/v1/lm/generate", {"input": "x", "options": {"temperature": -1}}, 422, "options.temperature: must be in [0.01, 100], got -1.0"),
    ("post", "/v1/classifier/generate", {"input": "x"}, 422, "a classification model does not stream"),
    ("post", "/v1/seq2seq/predict", {"inputs": ["ab"], "options": {"n_best": 9, "beam": 2}}, 422, "options.n_best: 9 needs a beam"),
])
def test_errors_are_one_json_line_with_the_right_status(client, method, path, body, status, needle):
    response = getattr(client, method)(path, json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert needle in error and "\n" not in error


def test_malformed_json_and_a_lying_content_length(client):
    response = client.post("/v1/classifier/predict", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422 and "error" in response.json()
    response = client.post("/v1/classifier/predict", content=b"{}", headers={"content-length": "99999999"})
    assert response.status_code == 413


def test_api_key_is_checked_on_every_api_request(predictors):
    client = TestClient(create_app(predictors[:1], api_key="s3cret"))
    assert client.get("/health").status_code == 200 and client.get("/").status_code == 200
    for path in ("/models", "/v1/classifier/predict"):
        response = client.post(path, json={"inputs": ["x"]}) if "v1" in path else client.get(path)
        assert response.status_code == 401 and "API key" in response.json()["error"]
    wrong = client.get("/models", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    ok = client.post("/v1/classifier/predict", json={"inputs": ["a fine film"]}, headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200


def test_micro_batching_gathers_concurrent_requests_and_keeps_their_order(predictors):
    app = create_app(predictors[:1])
    batcher = app.state.batchers["classifier"]
    texts = [[f"a {'superb' if i % 2 else 'dull'} film {i}"] for i in range(16)]

    async def burst():
        return await asyncio.gather(*(batcher.predict(t, {}) for t in texts))

    outputs = asyncio.run(burst())
    assert [o[0]["text"] for o in outputs] == [t[0] for t in texts]
    # 16 requests at once, 8 texts at most per call (the limits): two forwards, each caller its own answer
    assert batcher.requests == 16 and batcher.batches == 2
    alone = [r for half in (texts[:8], texts[8:]) for r in predictors[0].predict([t[0] for t in half])]
    assert [o[0] for o in outputs] == alone


def test_serve_refuses_a_public_address_without_a_key(expect_error, models):
    expect_error(["serve", models["classifier"], "--host", "0.0.0.0"], "--host 0.0.0.0: binding beyond this machine needs --api-key")


def test_without_batching_every_request_is_its_own_forward(predictors):
    app = create_app(predictors[:1], batching=False)
    batcher = app.state.batchers["classifier"]

    async def burst():
        return await asyncio.gather(*(batcher.predict([f"film {i}"], {}) for i in range(5)))

    outputs = asyncio.run(burst())
    assert [o[0]["text"] for o in outputs] == [f"film {i}" for i in range(5)] and batcher.batches == 5
