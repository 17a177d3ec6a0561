"""The web page in a real browser: Debian's Chromium driven by Playwright types into the page for each of the
four task types and checks what the page shows."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time

import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi) is not installed: pip install 'seqlab[serve]'")
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements/test.txt)")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def server(models):
    import uvicorn

    from seqlab import inference
    from seqlab.serving.app import create_app

    if not os.path.exists(CHROMIUM):
        message = "Debian's chromium is not installed (apt-get install -y chromium; `make test` tries)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    predictors = [inference.load(models[name]) for name in ("classifier", "tagger", "lm", "seq2seq")]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(predictors), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def page(server):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone-width screen
        page.goto(server)
        page.wait_for_selector("#model option", state="attached")
        yield page
        browser.close()


def run(page, model: str, text: str) -> None:
    page.select_option("#model", model)
    page.fill("#text", text)
    page.get_by_role("button", name="Run").click()


def test_classifier_shows_probability_bars_and_attributions(page):
    run(page, "classifier", "a superb film about love")
    page.wait_for_selector(".bar-row")
    assert page.inner_text(".label") == "pos"
    assert page.locator(".bar-row").count() == 2
    page.wait_for_selector("span.attr")  # explain is on by default when captum is installed
    assert page.locator("span.attr").all_inner_texts() == ["a", "superb", "film", "about", "love"]


def test_tagger_shows_coloured_spans_with_their_types(page):
    run(page, "tagger", "the dog ran")
    page.wait_for_selector("mark.span")
    spans = page.locator("mark.span")
    assert spans.count() >= 1 and spans.first.get_attribute("title") in ("NP", "VP")
    assert page.inner_text(".tagged").replace("\n", " ").startswith("the dog")


def test_language_model_streams_text_with_sampling_controls(page):
    page.select_option("#model", "lm")
    page.fill("#max_tokens", "30")
    page.fill("#temperature", "0.5")
    run(page, "lm", "to be")
    page.wait_for_selector("#generated[data-done=true]")
    assert len(page.inner_text("#generated")) > len("to be")


def test_seq2seq_shows_the_n_best_list_and_an_attention_heatmap(page):
    run(page, "seq2seq", "abcd")
    page.wait_for_selector("li.hypothesis")
    assert page.locator("li.hypothesis").count() == 3  # the page asks for 3-best from a beam of 5
    assert page.locator("svg.heatmap rect").count() >= 4 * 4  # ≥ 4 output tokens × 4 source characters


def test_errors_are_shown_not_swallowed(page):
    run(page, "classifier", "   ")
    page.wait_for_selector("[role=alert]")
    assert "Type some text" in page.inner_text("[role=alert]")
