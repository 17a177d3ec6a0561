"""A progress bar for training epochs and evaluation: batches done, running loss, tokens/s, time left.

Drawn on stderr with rich (so ``--json`` output on stdout stays clean); disabled with ``enabled=False``
or when stderr is not a terminal, in which case per-epoch summary lines are all that is printed.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def console() -> Console:
    """The run's console on stderr; in a log (not a terminal) lines are never wrapped, so a printed command stays
    one line that can be copied."""
    out = Console(stderr=True, highlight=False)
    if not out.is_terminal:
        out.soft_wrap = True
    return out


class EpochProgress:
    def __init__(self, total: int, description: str, out: Console, enabled: bool = True,
                 restored: tuple[float, int, int, float] = (0.0, 0, 0, 0.0)):
        """``restored``: (loss sum, batches, tokens, seconds) of the epoch's batches before a resume."""
        self.enabled = enabled and out.is_terminal
        self.loss_sum, self.batches, self.tokens, before = restored
        self.start = time.perf_counter() - before
        self._bar = None
        if self.enabled:
            self._bar = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]:.4f}  {task.fields[tps]:,.0f} tok/s"),
                TimeElapsedColumn(), TimeRemainingColumn(), console=out, transient=True,
            )
            self._task = self._bar.add_task(description, total=total, loss=float("nan"), tps=0.0)
            self._bar.start()

    def update(self, loss: float, tokens: int) -> None:
        self.tokens += tokens
        self.loss_sum += loss
        self.batches += 1
        if self._bar is not None:
            self._bar.update(self._task, advance=1, loss=self.mean_loss, tps=self.tokens_per_s)

    @property
    def mean_loss(self) -> float:
        return self.loss_sum / max(self.batches, 1)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / max(self.elapsed, 1e-9)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
