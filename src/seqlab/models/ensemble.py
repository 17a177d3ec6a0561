"""An ensemble of trained models that predicts with the mean of their distributions,

    p(y | x) = (1/M) Σₘ pₘ(y | x),

returned as log p (so ``softmax`` and ``argmax`` of the output read it as any model's logits). ``forward`` mixes
the members' outputs over their last dimension (a classifier's classes); ``start`` / ``step`` / ``reorder`` follow the
incremental-decoder contract of ``decoding.beam``, each member keeping its own state and the distribution of every
next token mixed, so greedy and beam search decode an ensemble as one model (members may differ in architecture:
a recurrent and a Transformer decoder over the same vocabularies). Members must share the task's files
(vocabularies, labels); the caller checks that, since only it reads them.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn


class Ensemble(nn.Module):
    def __init__(self, members: list[nn.Module]):
        super().__init__()
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least two models, got {len(members)}")
        self.members = nn.ModuleList(members)
        self.cfg = getattr(members[0], "cfg", None)  # what callers read of a model's configuration (e.g. whether it attends)

    def mix(self, outputs: list[torch.Tensor]) -> torch.Tensor:
        """log of the mean of the members' softmax distributions over the last dimension."""
        log_probs = torch.stack([o.float().log_softmax(-1) for o in outputs])
        return torch.logsumexp(log_probs, 0) - math.log(len(outputs))

    def forward(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        return self.mix([member(*args, **kwargs) for member in self.members])

    def start(self, batch_size: int, context: Any) -> list[Any]:
        return [member.start(batch_size, context) for member in self.members]

    def step(self, state: list[Any], tokens: torch.Tensor) -> tuple[torch.Tensor, list[Any]]:
        stepped = [member.step(s, tokens) for member, s in zip(self.members, state)]
        return self.mix([logits for logits, _ in stepped]), [s for _, s in stepped]

    def reorder(self, state: list[Any], index: torch.Tensor) -> list[Any]:
        return [member.reorder(s, index) for member, s in zip(self.members, state)]
