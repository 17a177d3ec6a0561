"""The TextCNN block of Kim (2014): parallel 1-D convolutions with max-over-time pooling.

For each width w ∈ ``widths`` and each of ``maps`` filters: c_t = ReLU(W_w · x_{t:t+w−1} + b_w) over the
windows that start inside the sequence, then ĉ = max_t c_t. Output: the concatenation of all ĉ,
[B, maps · len(widths)]. A sequence shorter than w is zero-padded to one full window (as Kim pads).
Windows that begin in the padding of a shorter sequence are excluded from the max, so a sentence's
features do not depend on the batch it is in.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvMaxPool(nn.Module):
    def __init__(self, input_size: int, widths: tuple[int, ...] = (3, 4, 5), maps: int = 100):
        super().__init__()
        self.widths = tuple(widths)
        self.convs = nn.ModuleList(nn.Conv1d(input_size, maps, w) for w in self.widths)
        self.output_size = maps * len(self.widths)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x [B, T, E], lengths [B], mask [B, T] → [B, maps · len(widths)]."""
        x = x.masked_fill(~mask.unsqueeze(-1), 0.0).transpose(1, 2)  # [B, E, T]
        longest = max(self.widths)
        if x.size(2) < longest:
            x = F.pad(x, (0, longest - x.size(2)))
        pooled = []
        for w, conv in zip(self.widths, self.convs):
            c = F.relu(conv(x))  # [B, maps, T - w + 1]
            starts = torch.arange(c.size(2), device=x.device)
            valid = starts[None, :] < (lengths - w + 1).clamp_min(1)[:, None]  # [B, T - w + 1]
            pooled.append(c.masked_fill(~valid.unsqueeze(1), float("-inf")).amax(2))
        return torch.cat(pooled, dim=1)
