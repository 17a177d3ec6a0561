"""Classifier inference side by side, one run: torch eager, torch dynamic int8 (``torch.ao`` quantize_dynamic on
LSTM and Linear), onnxruntime fp32 and onnxruntime int8 (``seqlab export --int8``).

For the model in ``--model`` (default: the quickstart BiLSTM, ``runs/quickstart``) on MR test sentences:
batch-1 latency (p50 / p99 over ``--single`` sentences, one forward each, tokenisation included) and batch-64
throughput (sentences/s over the whole test split, length-bucketed as ``predict`` does), plus each runtime's
test accuracy. Threads: ``--threads`` for every runtime (default 1: a server's per-request latency). Run with
the machine otherwise idle.

    python benchmarks/inference.py                          # ≈ 2 minutes
    python benchmarks/inference.py --model runs/mr-textcnn --threads 2
    python benchmarks/inference.py --tagger runs/demo/chunker   # the CoNLL-2000 tagger instead
    python benchmarks/inference.py --g2p runs/demo/g2p          # the CMUdict G2P model (greedy) instead

``--tagger DIR`` times a tagging run on CoNLL-2000 test sentences instead (torch eager, onnxruntime fp32 and
int8; the CRF's Viterbi in numpy for all three) and reports the chunk F1 and how many sentences got exactly
the torch model's tags. ``--g2p DIR`` does the same for a grapheme-to-phoneme model on the CMUdict test words
(greedy decoding; encoder once, decoder step by step), with WER and identical outputs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "runs" / "quickstart"))
    parser.add_argument("--single", type=int, default=300, help="sentences timed one at a time (default 300)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5, help="whole passes timed for throughput; the median counts (default 5)")
    parser.add_argument("--out", default=str(ROOT / "runs" / "inference.json"))
    parser.add_argument("--tagger", metavar="DIR", help="time this tagging run on CoNLL-2000 test instead")
    parser.add_argument("--g2p", metavar="DIR", help="time this G2P run on CMUdict test words instead")
    args = parser.parse_args()
    if args.tagger:
        return tagger(args)
    if args.g2p:
        return g2p(args)

    import torch

    torch.set_num_threads(args.threads)
    from seqlab.data.datasets import load_splits
    from seqlab.data.readers import TextExample
    from seqlab.export.onnx import export
    from seqlab.serving.onnx_predictor import OnnxPredictor
    from seqlab.serving.predictor import Predictor

    test = load_splits("mr", None).test
    texts, gold = [ex.text for ex in test], [ex.label for ex in test]
    torch_predictor = Predictor(args.model)
    task, model = torch_predictor.task, torch_predictor.model
    quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.LSTM, torch.nn.Linear}, dtype=torch.qint8)

    def torch_probs(m):
        def run(batch: list[str]) -> np.ndarray:
            with torch.no_grad():
                return task.probabilities(m, task.encode([TextExample(t) for t in batch]), 64).numpy()
        return run

    tmp = Path(tempfile.mkdtemp())
    export(args.model, tmp / "fp32")
    export(args.model, tmp / "int8", int8=True)
    runtimes = {"torch eager": torch_probs(model), "torch dynamic int8": torch_probs(quantized)}
    graphs = {}
    for name, folder in (("onnxruntime fp32", "fp32"), ("onnxruntime int8", "int8")):
        predictor = OnnxPredictor(tmp / folder, threads=args.threads)
        runtimes[name] = lambda batch, p=predictor: p.probabilities(batch, 64)
        graphs[name] = predictor

    labels = task.labels
    rows = []
    for name, run in runtimes.items():
        run(texts[:20])  # warm-up
        latencies = []
        for text in texts[: args.single]:
            t0 = time.perf_counter()
            run([text])
            latencies.append(time.perf_counter() - t0)
        seconds, probs = throughput(run, texts, args.repeats)
        accuracy = float(np.mean([labels[i] == g for i, g in zip(probs.argmax(-1), gold)]))
        latencies.sort()
        rows.append({"runtime": name, "p50_ms": 1000 * latencies[len(latencies) // 2],
                     "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
                     "batch64_sentences_per_s": len(texts) / seconds, "test_accuracy": accuracy})
        if name in graphs:  # the graph alone, on batches tokenised and padded beforehand
            p = graphs[name]
            order = sorted(range(len(texts)), key=lambda i: len(p.input_tokens(texts[i])))
            feeds = [dict(zip(("ids", "lengths"), p.encode([texts[i] for i in order[k:k + 64]])))
                     for k in range(0, len(order), 64)]
            seconds_graph, _ = throughput(lambda _: [p.session.run(["probabilities"], f) for f in feeds], texts, args.repeats)
            rows[-1]["graph_sentences_per_s"] = len(texts) / seconds_graph
        print(json.dumps(rows[-1]), flush=True)
    graph = {r["runtime"]: r["graph_sentences_per_s"] for r in rows if "graph_sentences_per_s" in r}
    if len(graph) == 2:
        print(f"graph alone, batch 64: onnxruntime fp32 {graph['onnxruntime fp32']:,.0f} sentences/s, int8 "
              f"{graph['onnxruntime int8']:,.0f} ({graph['onnxruntime int8'] / graph['onnxruntime fp32']:.2f}×)")
    eager = rows[0]
    print(f"\n{'runtime':<20} {'p50 ms':>7} {'p99 ms':>7} {'× eager':>8} {'batch-64 /s':>12} {'× eager':>8} {'accuracy':>9}")
    for r in rows:
        print(f"{r['runtime']:<20} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} {r['p50_ms'] / eager['p50_ms']:>8.2f} "
              f"{r['batch64_sentences_per_s']:>12.0f} {r['batch64_sentences_per_s'] / eager['batch64_sentences_per_s']:>8.2f} "
              f"{100 * r['test_accuracy']:>8.2f}%")
    report = {"model": args.model, "threads": args.threads, "rows": rows, "date": time.strftime("%Y-%m-%d"),
              "machine": f"{platform.machine()} {os.cpu_count()} cores", "torch": torch.__version__}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))


def timed(run, texts: list[str], single: int, repeats: int) -> tuple[list[float], float, list]:
    run(texts[:20])  # warm-up
    latencies = []
    for text in texts[:single]:
        t0 = time.perf_counter()
        run([text])
        latencies.append(time.perf_counter() - t0)
    seconds, outputs = throughput(run, texts, repeats)
    return sorted(latencies), seconds, outputs


def throughput(run, texts: list[str], repeats: int) -> tuple[float, object]:
    """Median seconds of ``repeats`` whole passes over ``texts`` (one pass is short and noisy), and the outputs."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        outputs = run(texts)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), outputs


def tagger(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    from seqlab import metrics
    from seqlab.data.datasets import load_splits
    from seqlab.export.onnx import export
    from seqlab.serving.onnx_predictor import load_export
    from seqlab.serving.predictor import Limits, Predictor

    test = load_splits("conll2000", None).test
    texts, gold = [" ".join(s.tokens) for s in test], [list(s.tags) for s in test]
    limits = Limits(inputs=len(texts) + 1)
    tmp = Path(tempfile.mkdtemp())
    export(args.tagger, tmp / "fp32")
    export(args.tagger, tmp / "int8", int8=True)
    runtimes = {"torch eager": Predictor(args.tagger, limits),
                "onnxruntime fp32": load_export(tmp / "fp32", limits, threads=args.threads),
                "onnxruntime int8": load_export(tmp / "int8", limits, threads=args.threads)}
    rows, reference = [], None
    for name, predictor in runtimes.items():
        latencies, seconds, outputs = timed(lambda batch, p=predictor: [r["tags"] for r in p.predict(batch)], texts, args.single, args.repeats)
        reference = reference or outputs
        same = sum(a == b for a, b in zip(outputs, reference)) / len(outputs)
        rows.append({"runtime": name, "p50_ms": 1000 * latencies[len(latencies) // 2],
                     "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
                     "batch_sentences_per_s": len(texts) / seconds, "chunk_f1": metrics.chunk_scores(gold, outputs)["f1"],
                     "same_tags_as_torch": same})
        print(json.dumps(rows[-1]), flush=True)
    report = {"model": args.tagger, "threads": args.threads, "rows": rows, "date": time.strftime("%Y-%m-%d"),
              "machine": f"{platform.machine()} {os.cpu_count()} cores", "torch": torch.__version__}
    Path(args.out).write_text(json.dumps(report, indent=2))


def g2p(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    from seqlab import metrics
    from seqlab.data.datasets import load_splits
    from seqlab.export.onnx import export
    from seqlab.serving.onnx_predictor import load_export
    from seqlab.serving.predictor import Limits, Predictor

    test = load_splits("cmudict", None).test
    references: dict[str, list[list[str]]] = {}
    for ex in test:
        references.setdefault(ex.text, []).append(ex.label.split())
    words = sorted(references)
    limits = Limits(inputs=len(words) + 1)
    tmp = Path(tempfile.mkdtemp())
    export(args.g2p, tmp / "fp32")
    export(args.g2p, tmp / "int8", int8=True)
    runtimes = {"torch eager": Predictor(args.g2p, limits),
                "onnxruntime fp32": load_export(tmp / "fp32", limits, threads=args.threads),
                "onnxruntime int8": load_export(tmp / "int8", limits, threads=args.threads)}
    rows, reference = [], None

    def run(predictor, batch: list[str]) -> list[str]:
        out = []
        for start in range(0, len(batch), 64):
            out += [r["hypotheses"][0]["text"] for r in predictor.predict(batch[start:start + 64], {"beam": 1})]
        return out

    for name, predictor in runtimes.items():
        latencies, seconds, outputs = timed(lambda batch, p=predictor: run(p, batch), words, args.single, args.repeats)
        reference = reference or outputs
        scores = metrics.g2p_error_rates(references, {w: o.split() for w, o in zip(words, outputs)})
        rows.append({"runtime": name, "p50_ms": 1000 * latencies[len(latencies) // 2],
                     "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
                     "batch_words_per_s": len(words) / seconds, "wer": scores["wer"],
                     "same_output_as_torch": sum(a == b for a, b in zip(outputs, reference)) / len(outputs)})
        print(json.dumps(rows[-1]), flush=True)
    report = {"model": args.g2p, "threads": args.threads, "rows": rows, "date": time.strftime("%Y-%m-%d"),
              "machine": f"{platform.machine()} {os.cpu_count()} cores", "torch": torch.__version__}
    Path(args.out).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
