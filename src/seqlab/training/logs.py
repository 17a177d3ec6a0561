"""Where a run's log records go: ``metrics.jsonl`` always, and what ``train.log`` adds.

* ``jsonl`` — ``metrics.jsonl``, one JSON object per record: steps (``step``, ``epoch``, ``loss``, ``lr``), epochs
  (``train_loss``, ``tokens_per_s``, ``dev_*``) and events (a change of threads). The source of truth: a resumed
  run truncates it to the checkpoint's step.
* ``csv`` — ``steps.csv`` and ``epochs.csv``, written from ``metrics.jsonl`` after every epoch and at the end,
  so they always agree with it (a resume included); a spreadsheet opens them as they are.
* ``tensorboard`` — event files in ``tensorboard/`` (``tensorboard --logdir RUN``): ``train/loss``,
  ``train/lr``, ``train/epoch_loss``, ``train/tokens_per_s`` and ``dev/<metric>`` against the step; a resumed run
  purges the events after its checkpoint's step. Needs the ``tensorboard`` extra.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

LOGS = ("jsonl", "csv", "tensorboard")


def read(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class RunLog:
    def __init__(self, out_dir: Path, kinds: list[str], resume_step: int | None = None):
        """``resume_step``: continuing a run from the checkpoint of that step (None: a fresh run)."""
        self.path = out_dir / "metrics.jsonl"
        self.out_dir, self.kinds = out_dir, set(kinds) | {"jsonl"}
        if resume_step is None:  # a fresh run (or --overwrite): nothing of an earlier run's logs stays
            self.path.unlink(missing_ok=True)
            shutil.rmtree(out_dir / "tensorboard", ignore_errors=True)
        else:  # drop the lines of steps after the checkpoint: they are about to be trained again
            keep = [r for r in read(self.path) if r.get("step", 0) <= resume_step]
            self.path.write_text("".join(json.dumps(r) + "\n" for r in keep), encoding="utf-8")
        self.board = None
        if "tensorboard" in self.kinds:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise ValueError("train.log: tensorboard needs the tensorboard package: pip install 'seqlab[tensorboard]'") from None
            self.board = SummaryWriter(str(out_dir / "tensorboard"), purge_step=None if resume_step is None else resume_step + 1)

    def write(self, record: dict) -> None:
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        if self.board is not None and "step" in record:
            step = record["step"]
            if "loss" in record and "train_loss" not in record:
                self.board.add_scalar("train/loss", record["loss"], step)
                self.board.add_scalar("train/lr", record["lr"], step)
            for key, value in record.items():
                if key.startswith("dev_") and isinstance(value, (int, float)):
                    self.board.add_scalar(f"dev/{key[4:]}", value, step)
                elif key in ("train_loss", "tokens_per_s") and isinstance(value, (int, float)):
                    self.board.add_scalar(f"train/{'epoch_loss' if key == 'train_loss' else key}", value, step)
        if "train_loss" in record:  # an epoch ended
            self.flush()

    def flush(self) -> None:
        if "csv" in self.kinds:
            records = read(self.path)
            steps = [r for r in records if "loss" in r and "train_loss" not in r]
            epochs = [r for r in records if "train_loss" in r]
            for name, rows in (("steps.csv", steps), ("epochs.csv", epochs)):
                columns = list(dict.fromkeys(k for r in rows for k in r))
                with open(self.out_dir / name, "w", newline="", encoding="utf-8") as fh:
                    writer = csv.DictWriter(fh, columns)
                    writer.writeheader()
                    writer.writerows(rows)
        if self.board is not None:
            self.board.flush()

    def close(self) -> None:
        self.flush()
        if self.board is not None:
            self.board.close()
