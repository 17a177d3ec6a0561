"""What a hostile or careless client can ask of ``seqlab serve``, answered in one JSON line with the right status
before any work starts: the request cost model, nulls and out-of-range numbers, lone surrogates, form bodies,
auth before the body, the Host allow-list, headers, request ids, metrics and readiness, back-pressure and
cancellation (here through FastAPI's test client; the real socket cases are in benchmarks/serve_abuse.py)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi) is not installed: pip install 'seqlab[serve]'")
from fastapi.testclient import TestClient  # noqa: E402

from seqlab import cancel, inference  # noqa: E402
from seqlab.serving.app import LOOPBACK_HOSTS, authorised, create_app  # noqa: E402
from seqlab.serving.base import Limits, request_cost  # noqa: E402
from seqlab.textstream import StopStream  # noqa: E402


@pytest.fixture(scope="module")
def predictors(models):
    limits = Limits(inputs=8, input_tokens=60, new_tokens=60, cost=400, stop_strings=3, stop_chars=10)
    return [inference.load(models[name], limits) for name in ("classifier", "tagger", "lm", "seq2seq")]


@contextlib.contextmanager
def stuck(batcher, seconds: float):
    """The batcher's model holds every prediction until the yielded event is set (or ``seconds`` pass), and is
    put back afterwards."""
    release = threading.Event()
    original = batcher.predictor.predict
    batcher.predictor.predict = lambda texts, options: release.wait(seconds) and original(texts, options)
    try:
        yield release
    finally:
        release.set()
        batcher.predictor.predict = original


@pytest.fixture
def client(predictors):
    return TestClient(create_app(predictors, max_body=4096))


def one_error(response, status: int, needle: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert needle in error and "\n" not in error, error
    return error


@pytest.mark.parametrize("path, body, status, needle", [
    # the cost model: one budget for every task (Limits.cost = 400 here)
    ("/v1/tagger/predict", {"inputs": ["w " * 60] * 8}, 413, "request cost 480 model steps is over the limit of 400"),
    ("/v1/tagger/predict", {"inputs": ["w " * 60] * 6}, 200, ""),
    ("/v1/seq2seq/predict", {"inputs": ["abcdefghij"], "options": {"beam": 40}}, 413, "over the limit of 400"),
    ("/v1/lm/predict", {"inputs": ["x"] * 6, "options": {"max_tokens": 60}}, 200, ""),
    ("/v1/lm/predict", {"inputs": ["x"] * 7, "options": {"max_tokens": 60}}, 413, "request cost"),
    ("/v1/lm/predict", {"inputs": ["x"], "options": {"stop": ["a", "b", "c", "d"]}}, 413, "options.stop: 4 strings"),
    ("/v1/lm/predict", {"inputs": ["x"], "options": {"stop": ["a" * 11]}}, 413, "options.stop[0]: 11 characters"),
    ("/v1/seq2seq/predict", {"inputs": ["ab"], "options": {"beam": 10**23}}, 422, "out of range"),
    ("/v1/seq2seq/predict", {"inputs": ["ab"], "options": {"beam": 257}}, 422, "options.beam: must be in [1, 256]"),
    # nulls, numbers torch would choke on, and strings that are not Unicode
    ("/v1/lm/predict", {"inputs": ["x"], "options": {"max_tokens": None}}, 422, "options.max_tokens: expected an integer, got null"),
    ("/v1/lm/predict", {"inputs": ["x"], "options": {"temperature": None}}, 422, "options.temperature: expected a finite number, got null"),
    ("/v1/seq2seq/predict", {"inputs": ["ab"], "options": {"n_best": None}}, 422, "options.n_best: expected an integer, got null"),
    ("/v1/lm/predict", {"inputs": ["x"], "options": {"temperature": 1e-45}}, 422, "options.temperature: must be in [0.01, 100]"),
    ("/v1/lm/predict", {"inputs": ["x"], "options": {"temperature": 1e300}}, 422, "options.temperature: must be in [0.01, 100]"),
    ("/v1/lm/predict", {"inputs": ["x"], "options": {"seed": 2**64}}, 422, "options.seed"),
    ("/v1/lm/predict", {"inputs": ["x"], "options": {"seed": None}}, 200, ""),
])
def test_costs_and_values_are_checked_before_work(client, path, body, status, needle):
    response = client.post(path, json=body)
    if status == 200:
        assert response.status_code == 200, response.text
    else:
        one_error(response, status, needle)


def test_lone_surrogates_are_refused_everywhere(client):
    raw = '{"inputs": ["fine \\ud800 film"]}'
    for path in ("/v1/classifier/predict", "/v1/tagger/predict", "/v1/lm/predict"):
        one_error(client.post(path, content=raw, headers={"content-type": "application/json"}), 422,
                  "inputs[0]: not valid Unicode (a lone surrogate")
    raw = '{"inputs": ["x"], "options": {"stop": ["\\udfff"]}}'
    one_error(client.post("/v1/lm/predict", content=raw, headers={"content-type": "application/json"}), 422,
              "options.stop[0]: not valid Unicode")
    raw = '{"input": "\\ud800", "options": {"max_tokens": 5}}'
    one_error(client.post("/v1/lm/generate", content=raw, headers={"content-type": "application/json"}), 422,
              "not valid Unicode")


def test_form_bodies_get_415_that_says_what_to_send(client):
    response = client.post("/v1/classifier/predict", content=b'{"inputs": ["a fine film"]}',
                           headers={"content-type": "application/x-www-form-urlencoded"})
    one_error(response, 415, "-H 'content-type: application/json'")
    assert client.post("/v1/classifier/predict", content=b'{"inputs": ["a fine film"]}',
                       headers={"content-type": "application/json; charset=utf-8"}).status_code == 200


def test_every_error_is_json_and_every_answer_is_labelled(client):
    one_error(client.get("/nope"), 404, "no such route")
    one_error(client.delete("/health"), 405, "method DELETE is not allowed")
    one_error(client.post("/health", json={}), 405, "method POST is not allowed on /health")
    one_error(client.post("/anything", json={}), 404, "no such route")
    response = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert len(client.get("/health", headers={"X-Request-ID": "bad id!" * 20}).headers["x-request-id"]) == 32
    page = client.get("/")
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_auth_comes_before_the_body_and_the_scheme_is_any_case(predictors):
    app = create_app(predictors, api_key="s3cret", max_body=4096)
    client = TestClient(app)
    for scheme in ("Bearer", "bearer", "BEARER"):
        assert client.post("/v1/classifier/predict", json={"inputs": ["a"]},
                           headers={"Authorization": f"{scheme} s3cret"}).status_code == 200
    # a wrong key is refused before the body is read: even one over the size limit and not JSON
    one_error(client.post("/v1/classifier/predict", content=b"x" * 10_000, headers={"Authorization": "Bearer no"}),
              401, "missing or wrong API key")
    one_error(client.get("/models"), 401, "API key")
    assert client.get("/docs").status_code == 200 and client.get("/openapi.json").status_code == 200  # a browser opens them
    assert authorised("Bearer  s3cret ", "s3cret") and not authorised("Basic s3cret", "s3cret")


def test_a_loopback_server_answers_only_its_own_host_names(predictors):
    client = TestClient(create_app(predictors, allowed_hosts=LOOPBACK_HOSTS), base_url="http://127.0.0.1:8000")
    assert client.get("/health").status_code == 200
    for host in ("localhost:8000", "[::1]:8000", "127.0.0.1"):
        assert client.get("/health", headers={"host": host}).status_code == 200
    one_error(client.get("/health", headers={"host": "attacker.example:8000"}), 400, "Host 'attacker.example:8000' is not served")


def test_metrics_and_readiness(client):
    client.post("/v1/classifier/predict", json={"inputs": ["a fine film", "dull"]})
    client.post("/v1/lm/predict", json={"inputs": ["x"], "options": {"max_tokens": 5, "seed": 1}})
    client.post("/v1/classifier/predict", json={"inputs": [""]})
    text = client.get("/metrics").text
    assert 'seqlab_requests_total{method="POST",route="/v1/classifier/predict",status="200"} 1.0' in text
    assert 'seqlab_errors_total{status="422"} 1.0' in text
    assert 'seqlab_batch_texts_count{model="classifier"} 1.0' in text and 'seqlab_queue_depth{model="classifier"} 0.0' in text
    assert 'seqlab_generated_tokens_total{model="lm"}' in text
    assert client.get("/ready").json()["status"] == "ready"
    with TestClient(create_app([])) as c:  # after shutdown the app says it is draining
        pass
    assert c.get("/ready").status_code == 503


def test_a_full_queue_answers_503_with_retry_after(predictors):
    app = create_app(predictors, max_waiting=1)
    batcher = app.state.batchers["classifier"]
    results = []
    def until(condition) -> None:  # however slow the machine: no fixed sleeps
        deadline = time.time() + 60
        while not condition() and time.time() < deadline:
            time.sleep(0.01)

    post = lambda: results.append(client.post("/v1/classifier/predict", json={"inputs": ["a"]}))  # noqa: E731
    with stuck(batcher, 5) as release, TestClient(app) as client:  # one event loop for every request, as under uvicorn
        threads = [threading.Thread(target=post) for _ in range(4)]
        threads[0].start()
        until(lambda: batcher.batches == 1)  # the first is stuck in the model
        threads[1].start()
        until(lambda: batcher.waiting == 1)  # the second waits: the queue (max_waiting 1) is full
        for t in threads[2:]:
            t.start()
        until(lambda: len(results) == 2)  # the last two are turned away at once
        assert client.get("/health").status_code == 200  # the model is stuck; the server is not
        release.set()
        for t in threads:
            t.join()
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 200, 503, 503]
    busy = next(r for r in results if r.status_code == 503)
    assert busy.headers["retry-after"] == "1" and "requests are waiting for model classifier" in busy.json()["error"]


def test_a_deadline_ends_a_request_with_504(predictors):
    """A prediction stuck past --request-timeout is answered 504, whatever the model is doing."""
    app = create_app(predictors, request_timeout=0.3)
    batcher = app.state.batchers["lm"]
    with stuck(batcher, 30), TestClient(app) as client:
        response = client.post("/v1/lm/predict", json={"inputs": ["x"], "options": {"max_tokens": 5}})
    one_error(response, 504, "timed out: the request ran past 0.3 s")


def test_cancelled_work_stops_at_its_next_step(predictors):
    lm = predictors[2]
    token = cancel.Token()
    token.cancel()
    with cancel.scope(token), pytest.raises(cancel.Cancelled, match="client went away"):
        lm.predict(["x"], {"max_tokens": 60})
    events = lm.stream("x", {"max_tokens": 60, "eos_stop": False})
    first = next(events)
    events.close()  # the reader left: the generation is cancelled, not run to max_tokens
    assert "text" in first or "result" in first
    expired = cancel.Token(timeout=1e-9)
    time.sleep(0.001)
    with cancel.scope(expired), pytest.raises(cancel.Cancelled) as err:
        lm.predict(["x"], {"max_tokens": 60})
    assert err.value.timed_out


def test_stop_strings_are_searched_incrementally():
    seen = []
    stream = StopStream(["END"], seen.append)
    text = ""
    for piece in ["ab", "cE", "N", "Dxyz"]:
        text += piece
        if stream.update(text):
            break
    assert stream.finish() == "abc" and "".join(seen) == "abc"
    assert request_cost([3, 4], {}) == 7 and request_cost([3], {"max_tokens": 10}) == 13
    assert request_cost([10], {"beam": 5}) == 10 + 5 * 25 and request_cost([2], {"explain": True}) == 64


def test_serve_refuses_a_model_that_cannot_read_plain_text(expect_error, tmp_path):
    from conftest import write_tsv  # noqa: F401
    from seqlab.cli.main import main

    rows = "".join(f"{w}\tNN\tB-NP\n" for w in ("the", "dog")) + "\n"
    for name in ("train", "dev", "test"):
        (tmp_path / f"{name}.conll").write_text(rows * 20)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("task: tagging\ndata: {train: %s, dev: %s, test: %s, format: conll, feature_columns: [1], "
                      "tag_column: 2}\nmodel: {name: tagger, embed_dim: 8, hidden_size: 8, char_features: none}\n"
                      "train: {epochs: 1}\n" % tuple(tmp_path / f"{n}.conll" for n in ("train", "dev", "test")))
    assert main(["train", str(recipe), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    expect_error(["serve", tmp_path / "run"], "cannot be served on plain text", "feature_columns")


def test_serve_reads_the_key_from_a_file(tmp_path):
    import argparse

    from seqlab.cli.serve import api_key_of

    (tmp_path / "key").write_text("k3y\nignored\n")
    args = argparse.Namespace(api_key=None, api_key_file=str(tmp_path / "key"))
    assert api_key_of(args) == "k3y"
    with pytest.raises(ValueError, match="--api-key-file .*missing: No such file"):
        api_key_of(argparse.Namespace(api_key=None, api_key_file=str(tmp_path / "missing")))


def test_an_event_loop_is_never_blocked_by_a_model(predictors):
    """/health answers while a model's worker is busy (predict runs in the model's own thread): it returns before
    the stuck prediction does, however slow the machine."""
    app = create_app(predictors)
    batcher = app.state.batchers["lm"]

    async def scenario(release: threading.Event):
        import httpx

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=60) as c:
            slow = asyncio.ensure_future(c.post("/v1/lm/predict", json={"inputs": ["x"], "options": {"max_tokens": 5}}))
            while batcher.batches == 0:  # the stuck prediction has reached the model's thread
                await asyncio.sleep(0.01)
            health = await c.get("/health")
            stuck = not slow.done()
            release.set()
            await slow
            return health.status_code, stuck, slow.result().status_code

    with stuck(batcher, 30) as release:
        assert asyncio.run(scenario(release)) == (200, True, 200)
