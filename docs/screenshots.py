"""The README's pictures of the web page: start ``seqlab serve`` on trained runs, drive the page with Debian's
Chromium (Playwright) and save screenshots into docs/images/.

    python docs/screenshots.py --classifier runs/quickstart --tagger runs/demo/chunker --g2p runs/demo/g2p
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--classifier", default="runs/quickstart")
    parser.add_argument("--tagger", default="runs/demo/chunker")
    parser.add_argument("--g2p", default="runs/demo/g2p")
    parser.add_argument("--out", default=str(ROOT / "docs" / "images"))
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    seqlab = Path(sys.executable).with_name("seqlab")
    server = subprocess.Popen([str(seqlab), "serve", f"sentiment={args.classifier}", f"chunker={args.tagger}",
                               f"g2p={args.g2p}", "--port", str(port)])
    try:
        for _ in range(600):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 900, "height": 640}, device_scale_factor=1)
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("#model option", state="attached")
            page.select_option("#model", "sentiment")
            page.fill("#text", "a gorgeous, witty film, though the ending drags")
            page.get_by_role("button", name="Run").click()
            page.wait_for_selector("span.attr", timeout=60_000)
            page.screenshot(path=str(Path(args.out) / "serve_classifier.png"), full_page=True)
            page.set_viewport_size({"width": 900, "height": 420})
            page.select_option("#model", "chunker")
            page.fill("#text", "He reckons the current account deficit will narrow to only 1.8 billion in September .")
            page.get_by_role("button", name="Run").click()
            page.wait_for_selector("mark.span")
            tagger = page.locator("#output").screenshot()
            page.select_option("#model", "g2p")
            page.fill("#text", "seqlab")
            page.get_by_role("button", name="Run").click()
            page.wait_for_selector("svg.heatmap rect")
            g2p = page.locator("#output").screenshot()
            browser.close()
        from PIL import Image
        import io

        top, bottom = Image.open(io.BytesIO(tagger)), Image.open(io.BytesIO(g2p))
        both = Image.new("RGB", (max(top.width, bottom.width), top.height + bottom.height + 12), "white")
        both.paste(top, (0, 0))
        both.paste(bottom, (0, top.height + 12))
        both.save(Path(args.out) / "serve_tagger_g2p.png", optimize=True)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
