"""Re-run one cheap RESULTS.md entry and compare it with the figure RESULTS records (``reproduce.sh check NAME``).

Each entry below is the command RESULTS names, the threads and seed it was recorded with, the score it reads from
the run's ``results.json`` and the figure recorded. The run is repeated exactly so (``SEQLAB_THREADS`` set, the
seed passed); the check passes when the new figure equals the recorded one to the printed precision (``--tolerance``
points, default 0.005: the two decimals RESULTS prints), and says by how much it missed when it does not. A
recorded figure that no longer reproduces is a finding to state in RESULTS, not a tolerance to widen.

    SEQLAB_DATA_DIR=../shared/datasets python benchmarks/check_figure.py textcnn-trec
    bash benchmarks/reproduce.sh check bow-mr textcnn-trec      # the same, by name, several at once
    python benchmarks/check_figure.py --list
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Entry:
    recipe: str  # recipes/<recipe>.yaml
    score: str  # "split.metric" in results.json, in percent
    recorded: float
    threads: int
    seed: int = 1
    sets: tuple[str, ...] = field(default=())
    where: str = ""  # where RESULTS records it


ENTRIES = {
    "bow-mr": Entry("mr-bow", "test.accuracy", 76.76, 2, where="Text classification"),
    "bilstm-mr": Entry("mr-bilstm", "test.accuracy", 78.16, 2, where="Text classification"),
    "textcnn-mr": Entry("mr-textcnn", "test.accuracy", 77.32, 2, where="Text classification"),
    "textcnn-trec": Entry("trec-textcnn", "test.accuracy", 90.40, 2, where="Text classification"),
    "textcnn-sst2": Entry("sst2-textcnn", "test.accuracy", 80.83, 2, where="Text classification"),
    "ud-ewt-upos": Entry("ud-ewt-upos-bilstm", "test.accuracy", 94.81, 2, where="Sequence labelling"),
}


def read_score(results: dict, score: str) -> float:
    split, metric = score.split(".")
    return 100 * results[split][metric]


def check(name: str, tolerance: float, keep: Path | None) -> bool:
    entry = ENTRIES[name]
    out = keep or Path(tempfile.mkdtemp(prefix=f"check-{name}-")) / "run"
    command = [sys.executable, "-m", "seqlab", "train", str(ROOT / "recipes" / f"{entry.recipe}.yaml"), "--out", str(out),
               "--overwrite", "--no-progress", "--json", "--set", f"train.seed={entry.seed}"]
    for pair in entry.sets:
        command += ["--set", pair]
    env = {**os.environ, "SEQLAB_THREADS": str(entry.threads)}
    print(f"{name}: {' '.join(command[1:])}  (SEQLAB_THREADS={entry.threads})", flush=True)
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        print(f"{name}: FAILED to run (exit {done.returncode})")
        return False
    results = json.loads((out / "results.json").read_text())
    figure = read_score(results, entry.score)
    missed = figure - entry.recorded
    ok = abs(missed) <= tolerance
    print(f"{name}: {entry.score} {figure:.2f}, RESULTS ({entry.where}) records {entry.recorded:.2f}: "
          + ("reproduced" if ok else f"NOT reproduced ({missed:+.2f} points)"), flush=True)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"of: {', '.join(ENTRIES)}")
    parser.add_argument("--tolerance", type=float, default=0.005, help="points (default 0.005)")
    parser.add_argument("--keep", help="the run directory to keep (one name only; default: a temporary one)")
    parser.add_argument("--list", action="store_true", help="list the entries and their recorded figures")
    args = parser.parse_args()
    if args.list or not args.names:
        for name, e in ENTRIES.items():
            print(f"{name:<14} recipes/{e.recipe}.yaml  {e.score} {e.recorded:.2f}  threads {e.threads}  seed {e.seed}")
        return
    unknown = [n for n in args.names if n not in ENTRIES]
    if unknown:
        sys.exit(f"unknown entries: {', '.join(unknown)} (known: {', '.join(ENTRIES)})")
    if args.keep and len(args.names) > 1:
        sys.exit("--keep takes one name")
    results = [check(n, args.tolerance, Path(args.keep) if args.keep else None) for n in args.names]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
