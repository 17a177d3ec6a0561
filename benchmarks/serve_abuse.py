"""A hostile client against a running ``seqlab serve``: every finding of the red-team pass (issue "a server you can
leave running"), replayed, with the behaviour it must now show asserted. One server process (loopback, one thread,
short timeouts) serves a classifier, a tagger, a language model and a seq2seq model; a probe asks /health every
50 ms throughout; the server's resident memory is sampled throughout; its log is read at the end.

    python benchmarks/serve_abuse.py --classifier runs/quickstart --tagger runs/conll2000-words \\
        --lm runs/shakespeare-char --seq2seq runs/g2p --json runs/results/serve_abuse.json     # full scale
    python benchmarks/serve_abuse.py --small --classifier A --tagger B --lm C --seq2seq D          # make test's scale

Each check prints one line (what was sent, what came back, how long); the run fails (exit 1) if any check fails,
if any answer was a 500, if /health ever took longer than ``--health-ms`` or failed, if resident memory rose by more
than ``--rss-mb`` over the start, or if the log holds a traceback. ``--small`` sends fewer connections and streams
(the same kinds), for the test suite; the figures in RESULTS come from the full scale.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SLACK = 1.0  # --time-slack: every time bound is multiplied by it (the test suite's busy cores)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Server:
    def __init__(self, models: dict[str, str], log: Path, extra: list[str]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, "-c", "from seqlab.cli.entry import run; run()", "serve", *(f"{k}={v}" for k, v in models.items()),
                "--port", str(self.port), *extra]
        self.log = log
        env = {**os.environ, "SEQLAB_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(args, stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited at start:\n{log.read_text()[-2000:]}")
        raise SystemExit("the server did not answer /health within 120 s")

    def stop(self, timeout: float = 30) -> float:
        t0 = time.perf_counter()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return time.perf_counter() - t0


def _probe(url: str, pid: int, stop, out) -> None:
    """In a process of its own (the attacks' threads must not delay it): GET /health every 50 ms until ``stop``;
    puts (worst ms, failures, probes, peak RSS of the server in MB) on ``out``."""
    worst, failures, samples, peak, slow = 0.0, 0, 0, 0.0, []
    with httpx.Client(timeout=5) as http:
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                ok = http.get(url + "/health").status_code == 200
            except httpx.HTTPError:
                ok = False
            took = 1000 * (time.perf_counter() - t0)
            worst = max(worst, took)
            if took > 100:
                slow.append((time.time(), round(took)))
            samples += 1
            failures += not ok
            try:
                peak = max(peak, rss_mb(pid))
            except OSError:
                pass
            time.sleep(0.05)
    out.put((worst, failures, samples, peak, slow))


class Probe:
    def __init__(self, server: Server):
        ctx = multiprocessing.get_context("spawn")
        self.stop_flag, self.out = ctx.Event(), ctx.Queue()
        self.process = ctx.Process(target=_probe, args=(server.url, server.proc.pid, self.stop_flag, self.out), daemon=True)

    def start(self) -> None:
        self.process.start()

    def join(self) -> None:
        self.worst_ms, self.failures, self.samples, self.peak_rss, self.slow = self.out.get(timeout=30)
        self.process.join(10)


class Checks:
    def __init__(self):
        self.results: list[dict] = []
        self.statuses: dict[int, int] = {}

    def record(self, name: str, ok: bool, detail: str, seconds: float) -> None:
        self.results.append({"check": name, "ok": ok, "detail": detail, "seconds": round(seconds, 3),
                             "ended": time.time()})
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail} ({seconds:.2f} s)", flush=True)

    def post(self, http: httpx.Client, path: str, **kwargs) -> tuple[httpx.Response, float]:
        t0 = time.perf_counter()
        response = http.post(path, **kwargs)
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        return response, time.perf_counter() - t0


def expect(checks: Checks, http: httpx.Client, name: str, path: str, status: int, needle: str, max_s: float, **kwargs):
    response, took = checks.post(http, path, **kwargs)
    try:
        error = response.json().get("error", "") if response.status_code != 200 else ""
    except ValueError:
        error = f"not JSON: {response.text[:80]!r}"
    ok = response.status_code == status and needle in error and took <= max_s * SLACK
    checks.record(name, ok, f"{response.status_code} {error[:110]!r}", took)


def raw_socket(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(30)
    return s


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for role in ("classifier", "tagger", "lm", "seq2seq"):
        ap.add_argument(f"--{role}", required=True, help=f"a trained {role} run directory")
    ap.add_argument("--small", action="store_true", help="fewer connections and streams (the test suite's scale)")
    ap.add_argument("--health-ms", type=float, default=100.0, help="worst /health latency allowed (ms)")
    ap.add_argument("--rss-mb", type=float, default=600.0, help="resident memory the server may gain (MB)")
    ap.add_argument("--time-slack", type=float, default=1.0,
                    help="multiply every time bound by this (the test suite, sharing busy cores, uses 5)")
    ap.add_argument("--log", default=None, help="where the server's log goes (default: a temporary file)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    global SLACK
    SLACK = args.time_slack
    scale = {"floods": 40 if args.small else 1000, "streams": 5 if args.small else 50,
             "explains": 20 if args.small else 200, "half_headers": 40 if args.small else 2000}
    log = Path(args.log or f"/tmp/seqlab-serve-abuse-{os.getpid()}.log")
    timeouts = ["--request-timeout", "5", "--header-timeout", "2", "--body-timeout", "2", "--shutdown-timeout", "3",
                "--max-waiting", "16"]
    server = Server({"clf": args.classifier, "tag": args.tagger, "lm": args.lm, "s2s": args.seq2seq}, log, timeouts)
    try:
        return attack(server, args, scale, log)
    finally:
        if server.proc.poll() is None:  # a check that raised: never leave the server running
            server.proc.kill()
            server.proc.wait()


def attack(server: Server, args: argparse.Namespace, scale: dict, log: Path) -> int:
    start_rss = rss_mb(server.proc.pid)
    probe = Probe(server)
    probe.start()
    checks = Checks()
    json_h = {"content-type": "application/json"}
    http = httpx.Client(base_url=server.url, timeout=60)

    # ---------------------------------------------------------------- work a small request can demand
    expect(checks, http, "beam 1000 on a 2,000-character word", "/v1/s2s/predict", 422, "options.beam", 2,
           json={"inputs": ["a" * 2000], "options": {"beam": 1000}})
    expect(checks, http, "beam 256 on a 2,000-token input", "/v1/s2s/predict", 413, "", 2,
           json={"inputs": ["a " * 1000], "options": {"beam": 256}})
    expect(checks, http, "100,000 stop strings", "/v1/lm/predict", 413, "options.stop: 100,000 strings", 2,
           json={"inputs": ["a"], "options": {"stop": ["x" * 6] * 100_000, "max_tokens": 1000}})
    expect(checks, http, "256 empty prompts × 1,000 tokens", "/v1/lm/predict", 413, "request cost", 2,
           json={"inputs": [""] * 256, "options": {"max_tokens": 1000}})
    expect(checks, http, "tagging 250 texts × 2,000 tokens", "/v1/tag/predict", 413, "request cost", 3,
           json={"inputs": ["w " * 1999 + "w"] * 250})
    expect(checks, http, "tagging 31 texts × 2,000 tokens", "/v1/tag/predict", 413, "request cost 62,000", 3,
           json={"inputs": ["w " * 2000] * 31})

    # a dropped stream stops: the next request is answered at once
    streams = httpx.Client(base_url=server.url, timeout=30, limits=httpx.Limits(max_connections=scale["streams"] + 1))

    def drop_stream() -> None:  # the connection is closed, not returned to the pool: the server sees the client go
        with streams.stream("POST", "/v1/lm/generate", json={"input": "", "options": {"max_tokens": 1000, "eos_stop": False}},
                            headers={"connection": "close"}) as r:
            for _ in r.iter_lines():
                break

    t0 = time.perf_counter()
    drop_stream()
    time.sleep(0.3)
    response, took = checks.post(http, "/v1/clf/predict", json={"inputs": ["a fine film"]})
    checks.record("predict right after a dropped 1,000-token stream", response.status_code == 200 and took < 1.0 * SLACK,
                  f"{response.status_code} in {took * 1000:.0f} ms", time.perf_counter() - t0)
    t0 = time.perf_counter()
    threads = [threading.Thread(target=drop_stream) for _ in range(scale["streams"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(0.5)
    response, took = checks.post(http, "/v1/clf/predict", json={"inputs": ["a fine film"]})
    checks.record(f"predict after {scale['streams']} dropped streams", response.status_code == 200 and took < 2.0 * SLACK,
                  f"{response.status_code} in {took * 1000:.0f} ms", time.perf_counter() - t0)

    # a flood of explain requests: most get 503 at once, the other models stay responsive
    t0 = time.perf_counter()
    codes: list[int] = []

    flood = httpx.Client(base_url=server.url, timeout=60, limits=httpx.Limits(max_connections=scale["explains"]))

    def explain_once() -> None:  # one shared client: making 200 (each an SSL context) would starve the machine
        codes.append(flood.post("/v1/clf/predict", json={"inputs": ["a fine film"], "options": {"explain": True}}).status_code)

    threads = [threading.Thread(target=explain_once) for _ in range(scale["explains"])]
    for t in threads:
        t.start()
    time.sleep(0.2)
    response, took = checks.post(http, "/v1/tag/predict", json={"inputs": ["the dog ran"]})
    for t in threads:
        t.join()
    flood.close()
    checks.record(f"{scale['explains']} concurrent explains", set(codes) <= {200, 503, 504} and 503 in codes and
                  response.status_code == 200 and took < 1.0 * SLACK,
                  f"{codes.count(200)} answered, {codes.count(503)} told to retry, {codes.count(504)} past the "
                  f"deadline; the tagger answered in "
                  f"{took * 1000:.0f} ms meanwhile", time.perf_counter() - t0)

    # ---------------------------------------------------------------- connections
    t0 = time.perf_counter()
    socks = []
    for _ in range(scale["floods"]):  # 1 MB bodies to a public path, then stalled: answered without reading them
        s = raw_socket(server.port)
        s.sendall(b"POST /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                  b"1048576\r\n\r\n" + b"x" * 65536)
        socks.append(s)
    answers = []
    for s in socks:
        try:
            answers.append(s.recv(200).split(b" ")[1])
        except ConnectionResetError:  # answered and closed while the client still sent: the 405 can be lost in the reset
            answers.append(b"reset")
        except (OSError, IndexError):
            answers.append(b"none")
        s.close()
    checks.record(f"{scale['floods']} stalled 1 MB bodies to POST /health", set(answers) <= {b"405", b"reset"},
                  f"{answers.count(b'405')} answered 405, {answers.count(b'reset')} reset after the answer, "
                  f"{answers.count(b'none')} unanswered; RSS {rss_mb(server.proc.pid):.0f} MB",
                  time.perf_counter() - t0)
    t0 = time.perf_counter()
    fds_before = open_fds(server.proc.pid)
    half = []
    for _ in range(scale["half_headers"]):
        try:
            s = raw_socket(server.port)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            half.append(s)
        except OSError:
            break
    time.sleep(2 + 1.5 * SLACK)  # past --header-timeout 2
    closed = 0
    for s in half:
        try:
            s.settimeout(0.5)
            closed += s.recv(100) == b""
        except ConnectionResetError:  # refused past --max-connections: closed with its unread bytes, so reset
            closed += 1
        except OSError:
            pass
        s.close()
    checks.record(f"{len(half)} half-sent headers", closed == len(half) and open_fds(server.proc.pid) <= fds_before + 8,
                  f"{closed} closed by the server after the header timeout", time.perf_counter() - t0)
    t0 = time.perf_counter()
    s = raw_socket(server.port)
    s.sendall(b"POST /v1/clf/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              b"Content-Length: 100\r\n\r\n{\"inputs\": [")
    answer = s.recv(300)
    s.close()
    checks.record("a body shorter than its Content-Length", b" 408 " in answer,
                  answer.split(b"\r\n")[0].decode(errors="replace"), time.perf_counter() - t0)
    t0 = time.perf_counter()
    s = raw_socket(server.port)
    s.sendall(b"POST /v1/clf/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              b"Content-Length: 100\r\n\r\n{\"inp")
    s.close()  # the client drops mid-body
    time.sleep(0.3)
    checks.record("a client that drops mid-body", server.proc.poll() is None, "the server runs on", time.perf_counter() - t0)

    # ---------------------------------------------------------------- errors
    for name, path, body, status, needle in [
        ("max_tokens null", "/v1/lm/predict", {"inputs": ["a"], "options": {"max_tokens": None}}, 422, "got null"),
        ("temperature null", "/v1/lm/predict", {"inputs": ["a"], "options": {"temperature": None}}, 422, "got null"),
        ("n_best null", "/v1/s2s/predict", {"inputs": ["ab"], "options": {"n_best": None}}, 422, "got null"),
        ("temperature 1e-45", "/v1/lm/predict", {"inputs": ["a"], "options": {"temperature": 1e-45}}, 422, "must be in"),
        ("temperature 1e300", "/v1/lm/predict", {"inputs": ["a"], "options": {"temperature": 1e300}}, 422, "must be in"),
        ("seed 2**64", "/v1/lm/predict", {"inputs": ["a"], "options": {"seed": 2**64}}, 422, "out of range"),
        ("beam 1e23", "/v1/s2s/predict", {"inputs": ["ab"], "options": {"beam": 10**23}}, 422, "out of range"),
    ]:
        expect(checks, http, name, path, status, needle, 2, json=body)
    for path in ("/v1/clf/predict", "/v1/tag/predict", "/v1/lm/predict", "/v1/s2s/predict"):
        expect(checks, http, f"a lone surrogate to {path}", path, 422, "not valid Unicode", 2,
               content=b'{"inputs": ["a \\ud800 b"]}', headers=json_h)
    expect(checks, http, "a lone surrogate to generate", "/v1/lm/generate", 422, "not valid Unicode", 2,
           content=b'{"input": "\\ud800"}', headers=json_h)
    expect(checks, http, "curl's default form content type", "/v1/clf/predict", 415, "content-type: application/json", 2,
           content=b'{"inputs": ["a"]}', headers={"content-type": "application/x-www-form-urlencoded"})
    for method, path, status in (("GET", "/nope", 404), ("DELETE", "/health", 405), ("POST", "/v1/nope/predict", 404)):
        t0 = time.perf_counter()
        response = http.request(method, path, json={"inputs": ["a"]} if method == "POST" else None)
        checks.statuses[response.status_code] = checks.statuses.get(response.status_code, 0) + 1
        checks.record(f"{method} {path}", response.status_code == status and "error" in response.json(),
                      f"{response.status_code} {response.text[:80]}", time.perf_counter() - t0)
    response = http.get("/health", headers={"host": "rebind.example"})
    checks.record("a foreign Host header (DNS rebinding)", response.status_code == 400, response.text[:80], 0)
    page = http.get("/")
    checks.record("the page's security headers", page.headers.get("x-frame-options") == "DENY" and
                  "content-security-policy" in page.headers and page.headers.get("x-content-type-options") == "nosniff",
                  ", ".join(f"{k}" for k in page.headers if k.startswith("x-") or k.startswith("content-security")), 0)
    metrics = http.get("/metrics").text
    checks.record("/metrics", "seqlab_requests_total" in metrics and "seqlab_queue_depth" in metrics,
                  f"{len(metrics.splitlines())} lines", 0)

    # ---------------------------------------------------------------- a bounded drain on SIGTERM
    def long_stream() -> None:
        try:
            with httpx.Client(base_url=server.url, timeout=30) as c:
                with c.stream("POST", "/v1/lm/generate", json={"input": "", "options": {"max_tokens": 1000, "eos_stop": False}}) as r:
                    for _ in r.iter_lines():
                        pass
        except httpx.HTTPError:
            pass

    streamer = threading.Thread(target=long_stream, daemon=True)
    streamer.start()
    time.sleep(0.3)
    probe.stop_flag.set()
    probe.join()
    peak = probe.peak_rss
    stopped = server.stop(30)
    checks.record("SIGTERM with a generation in flight", stopped < 6 * SLACK, f"exited in {stopped:.1f} s (--shutdown-timeout 3)",
                  stopped)
    text = log.read_text()
    checks.record("the log holds no traceback", "Traceback" not in text, f"{len(text.splitlines())} lines", 0)
    checks.record("no 500 answers", 500 not in checks.statuses, f"statuses {dict(sorted(checks.statuses.items()))}", 0)
    checks.record(f"/health under {args.health_ms:g} ms throughout", probe.failures == 0 and probe.worst_ms <= args.health_ms,
                  f"{probe.samples} probes, worst {probe.worst_ms:.0f} ms, {probe.failures} failed", 0)
    checks.record(f"resident memory gained under {args.rss_mb:g} MB", peak - start_rss <= args.rss_mb,
                  f"{start_rss:.0f} MB at start, peak {peak:.0f} MB", 0)
    for at, ms in probe.slow:  # which attack each slow /health answer fell in
        during = next((r["check"] for r in checks.results if r["ended"] >= at), "the end")
        print(f"     /health took {ms} ms during: {during}")
    failed = [r for r in checks.results if not r["ok"]]
    summary = {"scale": scale, "checks": checks.results, "failed": len(failed), "health_worst_ms": probe.worst_ms,
               "health_slow": probe.slow,
               "rss_start_mb": start_rss, "rss_peak_mb": peak, "statuses": checks.statuses}
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1))
    print(f"{len(checks.results) - len(failed)} of {len(checks.results)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
