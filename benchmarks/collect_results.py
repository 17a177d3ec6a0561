"""Print RESULTS.md's tables from the run directories that benchmarks/reproduce.sh writes (runs/results/),
so that every reported figure is read from a results.json rather than copied by hand.

    python benchmarks/collect_results.py [runs/results]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# name -> (run directory, what the issue asks, the published reference)
CLASSIFICATION = {
    "BiLSTM (max pooling), MR": ("mr-bilstm", "≥ 77%", "Kim CNN-rand 76.1"),
    "TextCNN random init, MR": ("mr-textcnn", "≥ 75%", "Kim CNN-rand 76.1"),
    "TextCNN random init, TREC-6": ("trec-textcnn", "≥ 88%", "Kim CNN-rand 91.2"),
    "TextCNN random init, SST-2": ("sst2-textcnn", "≥ 80%", "Kim CNN-rand 82.7 (phrase-level training)"),
    "TF-IDF + logistic regression, MR": ("mr-bow", "≥ 75%", "NBSVM with bigrams 79.4 (Kim's table; unigrams here)"),
    "quickstart (BiLSTM, bundled MR)": ("quickstart", "≥ 76%, < 3 min", "—"),
    "BiLSTM (max pooling), IMDb": ("imdb-bilstm", "≥ 86%", "Maas et al. 88.9 (their word vectors)"),
}


def main(root: Path) -> None:
    print("| model, data | test accuracy | dev accuracy | best epoch | wall time | target | published |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, (folder, target, ref) in CLASSIFICATION.items():
        path = root / folder / "results.json"
        if not path.is_file():
            print(f"| {name} | not run | | | | {target} | {ref} |")
            continue
        r = json.loads(path.read_text())
        print(f"| {name} | {r['test']['accuracy']:.2%} | {r['dev']['accuracy']:.2%} | {r['training'].get('best_epoch') or '—'} "
              f"| {r['wall_seconds']:.0f} s | {target} | {ref} |")
    adding = root / "diagnose"
    rows = []
    for cell in ("rnn", "lstm", "gru"):
        path = adding / f"adding-{cell}" / "results.json"
        if path.is_file():
            r = json.loads(path.read_text())
            rows.append(f"| {cell} | {r['test']['mse']:.4f} | {r['training']['epoch']} | {r['wall_seconds']:.0f} s |")
    if rows:
        print("\n| adding problem, T = 100 | test MSE (baseline 0.167) | epochs | wall time |\n| --- | --- | --- | --- |")
        print("\n".join(rows))


TAGGING = {
    "BiLSTM-CRF + char CNN, CoNLL-2000 chunking": ("conll2000-bilstm-crf", "f1", "F1 ≥ 93.0", "Huang et al. BiLSTM-CRF (random init) 94.13"),
    "BiLSTM softmax + char CNN, CoNLL-2000 chunking": ("conll2000-bilstm-softmax", "f1", "beside the CRF", "Huang et al. BiLSTM 93.64"),
    "BiLSTM-CRF + char CNN, UD English EWT UPOS": ("ud-ewt-upos-bilstm", "accuracy", "accuracy ≥ 94.5%", "—"),
    "BiLSTM-CRF + char CNN, WNUT-17 entities": ("wnut17-bilstm-crf", "f1", "recorded", "—"),
}


def tagging_table(root: Path) -> None:
    print("\n| model, data | test | dev | token accuracy (test) | best epoch | wall time | target | published |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, (folder, metric, target, ref) in TAGGING.items():
        path = root / folder / "results.json"
        if not path.is_file():
            print(f"| {name} | not run | | | | | {target} | {ref} |")
            continue
        r = json.loads(path.read_text())
        print(f"| {name} | {metric} {100 * r['test'][metric]:.2f} | {100 * r['dev'][metric]:.2f} | "
              f"{r['test']['accuracy']:.2%} | {r['training'].get('best_epoch')} | {r['wall_seconds']:.0f} s | {target} | {ref} |")


def recurrent_table(root: Path) -> None:
    path = root / "recurrent.json"
    if not path.is_file():
        return
    data = json.loads(path.read_text())
    ceilings = data.get("ceilings_gflops") or {"torch.mm": data["ceiling_gflops"]}
    print(f"\nTraining (forward + backward) and inference tokens/s, {data['threads']} threads; ratio = paired median "
          f"against torch.nn (padded for A and C, PackedSequence for B); matrix-product ceilings (2048³): "
          + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in ceilings.items()) + ".\n")
    print("| cell, shape | implementation | train tok/s | train × torch | train GFLOP/s | infer tok/s | infer × torch |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for key, rows in data["results"].items():
        for name, r in rows.items():
            print(f"| {key} | {name} | {r['train_tokens_per_s']:,.0f} | {r['train_ratio_to_torch']:.2f} | "
                  f"{r['train_gflops']:.0f} | {r['infer_tokens_per_s']:,.0f} | {r['infer_ratio_to_torch']:.2f} |")
    for k, v in data.get("keras_geomean", {}).items():
        print(f"\n- {k}, training, geometric mean over the three shapes: {v:.2f}×", end="")
    print()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/results"))
    recurrent_table(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/results"))
    tagging_table(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/results"))
