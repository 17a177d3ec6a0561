"""Choosing the next token, and the generation loop over the incremental-decoder contract.

With logits z over the vocabulary:

* greedy — argmax z;
* temperature τ — sample from softmax(z / τ) (τ < 1 sharpens, τ > 1 flattens);
* top-k (Fan et al. 2018) — sample only among the k largest z (ties with the k-th kept);
* nucleus / top-p (Holtzman et al. 2020) — sort by probability and keep the smallest prefix whose mass
  reaches p: a token is kept iff the mass of the tokens strictly before it in that order is < p.

Temperature is applied first, then top-k, then top-p, as Hugging Face's generation does. A
``torch.Generator`` makes samples reproducible: the same seed gives the same tokens.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from .. import cancel


def filter_logits(logits: torch.Tensor, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """``logits`` [B, V] with −inf outside the top-k set and outside the nucleus of mass ``top_p``."""
    if top_k is not None and top_k > 0 and top_k < logits.size(-1):
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        if top_p <= 0.0:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        probs = torch.softmax(sorted_logits, dim=-1)
        mass_before = torch.cumsum(probs, dim=-1) - probs
        drop_sorted = mass_before >= top_p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def choose(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
           generator: torch.Generator | None = None, greedy: bool = False) -> torch.Tensor:
    """One next token per row of ``logits`` [B, V] → [B]."""
    if not 0 <= temperature < float("inf"):
        raise ValueError(f"temperature must be a finite number ≥ 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")
    if top_p is not None and not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    if greedy or temperature == 0:
        return logits.argmax(-1)
    filtered = filter_logits(logits.float() / temperature, top_k, top_p)
    probs = torch.softmax(filtered, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@torch.no_grad()
def generate(decoder: Any, state: Any, prompt: torch.Tensor, max_tokens: int, *, temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None, greedy: bool = False, seed: int | None = None,
             eos_id: int | None = None, banned: list[int] | None = None) -> Iterator[torch.Tensor]:
    """Read ``prompt`` [B, T ≥ 1] into ``state``, then yield up to ``max_tokens`` next tokens [B], one step at
    a time (so a caller can stream them). Rows that produced ``eos_id`` keep yielding ``eos_id``; the loop
    ends when every row has. Tokens in ``banned`` (``<pad>``, ``<bos>``) are never produced."""
    generator = torch.Generator(device=prompt.device).manual_seed(seed) if seed is not None else None  # beside the logits
    logits, state = decoder.step(state, prompt)
    done = torch.zeros(prompt.size(0), dtype=torch.bool, device=prompt.device)
    for _ in range(max_tokens):
        cancel.check()  # a server's request: stop here if its client left or its deadline passed
        if banned:
            logits = logits.index_fill(-1, torch.tensor(banned, device=logits.device), float("-inf"))
        token = choose(logits, temperature, top_k, top_p, generator, greedy)
        if eos_id is not None:
            token = token.masked_fill(done, eos_id)
            done |= token == eos_id
        yield token
        if bool(done.all()):
            return
        logits, state = decoder.step(state, token.unsqueeze(1))
