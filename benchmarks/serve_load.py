"""A bounded load test of ``seqlab serve`` on loopback: N requests at C concurrent clients, with and without
micro-batching, against a trained classifier (default: the quickstart model, ``runs/quickstart``).

For each (batching off / on, concurrency) a fresh ``seqlab serve`` process is started, warmed up with 20 requests,
then sent ``--requests`` POST /v1/MODEL/predict requests (one MR sentence each) by C clients; it stops by
itself. Reported: errors, lost or mismatched responses (each answer must carry its own text), requests/s and
latency p50 / p99 as the clients see them. Run with the machine otherwise idle.

    python benchmarks/serve_load.py                       # 2,000 requests × {1, 8, 32} clients × batching off / on
    python benchmarks/serve_load.py --model runs/quickstart --requests 500 --clients 32 --batching on
    python benchmarks/serve_load.py --startup runs/quickstart runs/quickstart-onnx   # start-up time and memory

``--startup`` compares runtimes instead: seconds from ``seqlab serve`` to its first answered /health, and the
server's resident memory (VmRSS) after 50 requests, for each directory given (a run directory serves on torch,
an ``seqlab export`` directory on onnxruntime without importing torch).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def sentences(n: int) -> list[str]:
    from seqlab.data.datasets import load_splits

    test = load_splits("mr", None).test
    return [test[i % len(test)].text for i in range(n)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def load(url: str, texts: list[str], clients: int) -> dict:
    latencies: list[float] = []
    errors, mismatched = 0, 0
    queue: asyncio.Queue = asyncio.Queue()
    for t in texts:
        queue.put_nowait(t)

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors, mismatched
        while not queue.empty():
            text = queue.get_nowait()
            t0 = time.perf_counter()
            try:
                response = await http.post(url, json={"inputs": [text]})
                latencies.append(time.perf_counter() - t0)
                if response.status_code != 200:
                    errors += 1
                elif response.json()["outputs"][0]["text"] != text:
                    mismatched += 1
            except httpx.HTTPError:
                errors += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        wall = time.perf_counter() - t0
    ordered = sorted(latencies)
    return {"requests": len(texts), "answered": len(latencies), "errors": errors, "mismatched": mismatched,
            "lost": len(texts) - len(latencies) - errors, "requests_per_s": len(latencies) / wall,
            "p50_ms": 1000 * statistics.median(ordered), "p99_ms": 1000 * ordered[int(0.99 * (len(ordered) - 1))]}


SERVE_ARGS: list[str] = []  # --serve-arg: passed on to every `seqlab serve`


def serve(model: str, port: int, batching: bool) -> subprocess.Popen:
    env = {**os.environ, "SEQLAB_COTENANCY": "0"}
    seqlab = Path(sys.executable).with_name("seqlab")  # the console script: serving an export skips torch
    log = tempfile.TemporaryFile()  # the server's stderr (its access log too): a pipe nobody reads would fill and block
    process = subprocess.Popen([str(seqlab), "serve", model, "--port", str(port), "--max-inputs", "256",
                                *([] if batching else ["--no-batching"]), *SERVE_ARGS],
                               env=env, stdout=subprocess.DEVNULL, stderr=log)
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    log.seek(0)
    raise RuntimeError(f"seqlab serve did not start: {log.read().decode()[-2000:]}")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def startup(models: list[str], texts: list[str]) -> list[dict]:
    rows = []
    for model in models:
        name = Path(model).resolve()
        name = name.parent.name if name.name == "model" else name.name
        port = free_port()
        t0 = time.perf_counter()
        process = serve(model, port, True)
        seconds = time.perf_counter() - t0
        try:
            asyncio.run(load(f"http://127.0.0.1:{port}/v1/{name}/predict", texts[:50], 1))
            runtime = httpx.get(f"http://127.0.0.1:{port}/models").json()[0]["runtime"]
            rows.append({"model": model, "runtime": runtime, "startup_s": seconds, "rss_mb": rss_mb(process.pid)})
        finally:
            process.terminate()
            process.wait(timeout=30)
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "runs" / "quickstart"))
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--serve-arg", action="append", default=[], metavar="ARG",
                        help="an argument for `seqlab serve` (repeat for several), e.g. --serve-arg=--no-access-log")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--batching", choices=["off", "on"], nargs="+", default=["off", "on"])
    parser.add_argument("--out", default=str(ROOT / "runs" / "serve_load.json"))
    parser.add_argument("--startup", nargs="+", metavar="DIR", help="measure start-up and memory of these instead")
    args = parser.parse_args()
    SERVE_ARGS.extend(args.serve_arg)
    texts = sentences(args.requests)
    if args.startup:
        rows = startup(args.startup, texts)
        Path(args.out).write_text(json.dumps({"startup": rows, "machine": f"{platform.machine()} {os.cpu_count()} cores",
                                              "date": time.strftime("%Y-%m-%d")}, indent=2))
        return
    name = Path(args.model).resolve()
    name = name.parent.name if name.name == "model" else name.name
    rows = []
    for batching in args.batching:
        for clients in args.clients:
            port = free_port()
            process = serve(args.model, port, batching == "on")
            try:
                url = f"http://127.0.0.1:{port}/v1/{name}/predict"
                asyncio.run(load(url, texts[:20], min(clients, 4)))  # warm-up
                row = {"batching": batching, "clients": clients, **asyncio.run(load(url, texts, clients))}
            finally:
                process.terminate()
                process.wait(timeout=30)
            rows.append(row)
            print(json.dumps(row), flush=True)
    report = {"model": args.model, "rows": rows, "machine": f"{platform.machine()} {os.cpu_count()} cores",
              "date": time.strftime("%Y-%m-%d"), "command": " ".join(sys.argv)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(f"{'batching':>8} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} {'lost':>5} {'wrong':>5}")
    for r in rows:
        print(f"{r['batching']:>8} {r['clients']:>7} {r['requests_per_s']:>8.1f} {r['p50_ms']:>8.1f} "
              f"{r['p99_ms']:>8.1f} {r['errors']:>6} {r['lost']:>5} {r['mismatched']:>5}")


if __name__ == "__main__":
    main()
