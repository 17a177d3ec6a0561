"""A language model's corpus read from disk as it trains (``data.stream``): the windows are the round-robin rows
made in memory, exactly; each process of a data-parallel run reads its own rows; and resident memory does not
grow with the corpus (a corpus four times larger trains in the same memory, where reading it whole does not)."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import torch
import yaml

from seqlab.tasks import load_recipe
from seqlab.data.batching import sharded
from seqlab.tasks.language_model.task import LanguageModelTask, StreamedWindows


def corpus(path, lines: int, seed: int = 1):
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(300)]
    path.write_text("".join(" ".join(rng.choices(words, k=rng.randint(3, 60))) + "\n" for _ in range(lines)))
    return path


def recipe(tmp_path, files, stream=True, **data):
    r = {"task": "language_model",
         "data": {"corpus": [str(f) for f in files], "stream": stream, "tokenizer": "split", "dev_fraction": 0.02,
                  "bptt": 7, **data},
         "model": {"name": "rnn_lm", "embed_dim": 8, "hidden_size": 8, "num_layers": 1},
         "train": {"epochs": 1, "batch_size": 4, "lr": 0.01, "log_every": 100000}}
    path = tmp_path / f"lm-{stream}.yaml"
    path.write_text(yaml.safe_dump(r))
    return path


def test_streamed_windows_are_the_round_robin_rows_exactly(tmp_path):
    text = corpus(tmp_path / "c.txt", 300)
    cfg = load_recipe(recipe(tmp_path, [text])).data
    task, splits = LanguageModelTask.from_recipe(cfg)
    split = task.encode(splits.train)
    texts = list(splits.train)
    assert len(texts) == len(splits.train) == 294  # every 50th line is dev
    rows = [[] for _ in range(4)]
    for j, t in enumerate(texts):
        rows[j % 4].extend([*task.encode_text(t), task.line_end])
    n = min(len(r) for r in rows)
    reference = torch.tensor([r[:n] for r in rows])
    windows = StreamedWindows(task, split, 4)
    got = list(windows)
    assert len(got) == len(windows) and len(got) > 10
    assert torch.equal(torch.cat([b.inputs for b in got], 1), reference[:, : n - 1])
    assert torch.equal(torch.cat([b.targets for b in got], 1), reference[:, 1:n])
    assert not got[0].carry and all(b.carry for b in got[1:])
    with sharded(1, 2):  # rank 1 of 2 keeps rows 2 and 3 and tokenizes only their texts
        mine = StreamedWindows(task, split, 4)
    assert torch.equal(torch.cat([b.inputs for b in mine], 1), reference[2:, : n - 1])


def _peak_rss_mb(tmp_path, path, name):
    # VmHWM: this process's own peak (ru_maxrss would carry the parent's over fork and exec)
    code = ("import sys; from seqlab.cli.main import main; "
            f"rc = main(['train', {str(path)!r}, '--out', {str(tmp_path / name)!r}, '--no-progress']); "
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]; "
            "print('PEAK', int(hwm) / 1024); sys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                         env={**__import__("os").environ, "SEQLAB_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    return float(out.stdout.split("PEAK")[-1])


def test_memory_does_not_grow_with_a_streamed_corpus(tmp_path):
    small = corpus(tmp_path / "small.txt", 6_000)  # ~190k tokens
    large = [corpus(tmp_path / f"large{i}.txt", 6_000, seed=i) for i in range(6)]  # six times larger
    streamed = [_peak_rss_mb(tmp_path, recipe(tmp_path, files), f"s{len(files)}") for files in ([small], large)]
    whole = [_peak_rss_mb(tmp_path, recipe(tmp_path, files, stream=False), f"w{len(files)}") for files in ([small], large)]
    grew_streamed, grew_whole = streamed[1] - streamed[0], whole[1] - whole[0]
    print(json.dumps({"streamed_mb": streamed, "whole_mb": whole}))
    assert grew_streamed < 12, streamed  # bounded by the batch, not the corpus
    assert grew_whole > 3 * max(grew_streamed, 4), (whole, streamed)  # the measure can see growth
