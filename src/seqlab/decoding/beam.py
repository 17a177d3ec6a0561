"""Batched beam search over the incremental-decoder contract (``start`` / ``step`` / ``reorder``).

Every row of the batch keeps K hypotheses. At each step every live hypothesis y is extended by every token
w, scored by its cumulative log-probability s(y·w) = s(y) + log p(w | y), and the K best of the K·V
extensions are kept (``reorder`` moves the decoder state along with them). A hypothesis that produced
``<eos>`` is finished: its only continuation is ``<eos>`` again at log-probability 0, so it keeps its score and
competes with the live ones until the end. The search stops when every hypothesis has finished or after
``max_len`` tokens (a number, or one per row — e.g. a ratio of each source's length).

Hypotheses are ranked finished first — one cut off at the length limit never paid for its ``<eos>``, and with
``average`` it would otherwise win on a short model almost always, as fairseq and OpenNMT return finished
hypotheses only — then by a length-normalised score, with |y| counting the ``<eos>``:

* ``none`` — s(y);
* ``average`` — s(y) / |y|;
* ``gnmt`` — s(y) / lp(y), lp(y) = ((5 + |y|) / 6)^α (Wu et al. 2016), α = ``alpha``.

With K = 1 this is greedy decoding; with K at least the number of partial sequences it is exhaustive search.

With ``keep_alignment`` and a decoder state that carries ``alignment`` [B·K, t, S] (the attention weights of
each step, reordered with the beams), each returned hypothesis holds the rows that produced its own tokens,
``<eos>`` included: the attention beam search itself followed, not a re-run of the decoder on the output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..search import PENALTIES, normalise  # noqa: F401  (PENALTIES: the choices, for callers)
from .. import cancel



@dataclass
class Hypothesis:
    tokens: list[int]  # without the final <eos>
    log_prob: float  # cumulative log-probability, <eos> included when finished
    score: float  # the length-normalised score hypotheses are ranked by
    finished: bool  # ended with <eos> (rather than at max_len)
    alignment: list[list[float]] | None = None  # [tokens (+ <eos>), source positions], with keep_alignment


@torch.no_grad()
def beam_search(decoder: Any, state: Any, prompt: torch.Tensor, beam: int, eos_id: int,
                max_len: int | torch.Tensor = 100, penalty: str = "none", alpha: float = 0.6,
                n_best: int = 1, keep_alignment: bool = False) -> list[list[Hypothesis]]:
    """The ``n_best`` hypotheses of each row of ``prompt`` [B, T ≥ 1] (read into ``state`` first), best first."""
    if beam < 1 or n_best < 1 or n_best > beam:
        raise ValueError(f"need 1 ≤ n_best ≤ beam, got beam {beam}, n_best {n_best}")
    normalise(0.0, 1, penalty, alpha)  # validates the penalty name
    B, device = prompt.size(0), prompt.device
    limits = torch.as_tensor(max_len, device=device).expand(B) if not isinstance(max_len, int) else \
        torch.full((B,), max_len, device=device)
    limits = limits.long().repeat_interleave(beam)  # [B·K]
    logits, state = decoder.step(state, prompt)
    log_probs = torch.log_softmax(logits.float(), -1)  # [B, V]
    V = log_probs.size(-1)
    rows = torch.arange(B, device=device).repeat_interleave(beam)
    state = decoder.reorder(state, rows)
    log_probs = log_probs.index_select(0, rows)  # [B·K, V]
    scores = torch.full((B, beam), float("-inf"), device=device)
    scores[:, 0] = 0.0  # one real hypothesis per row to start: the K copies would all tie
    tokens = torch.empty(B * beam, 0, dtype=torch.long, device=device)
    finished = torch.zeros(B * beam, dtype=torch.bool, device=device)
    origin = None
    for t in range(int(limits.max())):
        cancel.check()  # a server's request: stop here if its client left or its deadline passed
        done_now = finished | (t >= limits)  # rows past their limit stop as they are
        step = log_probs.masked_fill(done_now.unsqueeze(1), float("-inf"))
        step[:, eos_id] = torch.where(done_now, step.new_zeros(B * beam), step[:, eos_id])
        candidates = (scores.view(-1, 1) + step).view(B, beam * V)
        scores, flat = candidates.topk(beam, dim=-1)  # [B, K]
        origin = (flat // V) + torch.arange(B, device=device).unsqueeze(1) * beam  # [B, K] → rows of the B·K state
        origin, chosen = origin.view(-1), (flat % V).view(-1)
        was_done = done_now.index_select(0, origin)
        tokens = torch.cat([tokens.index_select(0, origin), chosen.masked_fill(was_done, eos_id).unsqueeze(1)], 1)
        finished = finished.index_select(0, origin) | (chosen == eos_id) & ~was_done
        if bool((finished | (t + 1 >= limits)).all()):
            break
        state = decoder.reorder(state, origin)
        logits, state = decoder.step(state, chosen.unsqueeze(1))
        log_probs = torch.log_softmax(logits.float(), -1)

    alignment = None
    if keep_alignment and origin is not None and hasattr(state, "alignment"):
        state = decoder.reorder(state, origin)  # the last step's choice, as in the loop
        alignment = state.alignment if state.alignment.size(1) else None  # [B·K, t, S]; none without attention
    out: list[list[Hypothesis]] = []
    for b in range(B):
        hyps = []
        for k in range(beam):
            i, s = b * beam + k, float(scores[b, k])
            if s == float("-inf"):
                continue
            seq = tokens[i].tolist()
            body = seq[: seq.index(eos_id)] if eos_id in seq else seq
            length = len(body) + (1 if finished[i] else 0)
            rows = alignment[i, :length].tolist() if alignment is not None else None
            hyps.append(Hypothesis(body, s, normalise(s, length, penalty, alpha), bool(finished[i]), rows))
        hyps.sort(key=lambda h: (h.finished, h.score), reverse=True)  # finished first (module docstring)
        out.append(hyps[:n_best])
    return out
