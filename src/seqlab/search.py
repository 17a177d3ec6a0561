"""Searches in numpy (no torch: exported models decode without it): Viterbi for a linear-chain CRF, and beam
search over a step function with the length penalties of ``seqlab.decoding.beam``.

Viterbi. For emissions e [B, T, C], transitions A [C, C] (previous → next), start and end scores s, f [C] and a mask of
real tokens [B, T] (each row starting with one), the best path of each row maximises
s[y₁] + Σ_t e[t, y_t] + Σ_{t>1} A[y_{t−1}, y_t] + f[y_n]. Forbidden transitions are −∞. The recursion is
sequential in T over [B, C] arrays too small for a tensor library's per-operation cost (a 55,000-token line took
4.5 s through torch operations, well under 1 s this way). Ties go to the lowest tag index.

Beam search: ``seqlab.decoding.beam``'s algorithm step for step (K hypotheses per row, a finished hypothesis
continues with ``<eos>`` at log-probability 0, finished ones ranked first, then by the length-normalised
score), over a ``step(state,
tokens) → (logits, state)`` function and a ``reorder(state, rows)`` function on numpy arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from . import cancel

PENALTIES = ("none", "average", "gnmt")


def normalise(log_prob: float, length: int, penalty: str = "none", alpha: float = 0.6) -> float:
    """The score hypotheses are ranked by: s(y) (none), s(y) / |y| (average), s(y) / ((5 + |y|) / 6)^α (gnmt)."""
    if penalty == "none":
        return log_prob
    if penalty == "average":
        return log_prob / max(length, 1)
    if penalty == "gnmt":
        return log_prob / (((5 + length) / 6) ** alpha)
    raise ValueError(f"unknown length penalty {penalty!r} (known: {', '.join(PENALTIES)})")


def viterbi(emissions: np.ndarray, keep: np.ndarray, transitions: np.ndarray, start: np.ndarray,
            end: np.ndarray) -> list[list[int]]:
    """The highest-scoring tag sequence of each row, trimmed to its length."""
    em = np.asarray(emissions, dtype=np.float32)
    keep = np.asarray(keep, dtype=bool)
    B, T, C = em.shape
    score = start + em[:, 0]
    pointers = np.empty((max(T - 1, 0), B, C), dtype=np.int64)
    stay = np.broadcast_to(np.arange(C), (B, C))
    for t in range(1, T):
        candidates = score[:, :, None] + transitions  # [B, previous C, next C]
        idx = candidates.argmax(axis=1)
        step = candidates.max(axis=1) + em[:, t]
        on = keep[:, t : t + 1]
        score = np.where(on, step, score)
        pointers[t - 1] = np.where(on, idx, stay)
    best_last = (score + end).argmax(axis=1)
    lengths = keep.sum(axis=1)
    paths = []
    for b in range(B):
        tag = int(best_last[b])
        path = [tag]
        column = pointers[:, b, :]
        for t in range(T - 2, -1, -1):
            tag = column[t, tag]
            path.append(tag)
        path.reverse()
        paths.append([int(x) for x in path[: lengths[b]]])
    return paths


@dataclass
class Found:
    tokens: list[int]  # without the final <eos>
    log_prob: float
    score: float
    finished: bool
    alignment: list[list[float]] | None = None


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float32)
    shifted = x - x.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def beam_search(step: Callable[[Any, np.ndarray], tuple[np.ndarray, Any, np.ndarray | None]],
                reorder: Callable[[Any, np.ndarray], Any], state: Any, first: np.ndarray, beam: int, eos_id: int,
                limits: np.ndarray, penalty: str = "none", n_best: int = 1, keep_alignment: bool = False,
                alpha: float = 0.6) -> list[list[Found]]:
    """The ``n_best`` hypotheses of each row, best first. ``step(state, tokens [N])`` → (logits [N, V], state,
    attention weights [N, S] or None); ``first`` [B] is the first input token (``<bos>``); ``limits`` [B] the most
    tokens per row."""
    if beam < 1 or n_best < 1 or n_best > beam:
        raise ValueError(f"need 1 ≤ n_best ≤ beam, got beam {beam}, n_best {n_best}")
    normalise(0.0, 1, penalty, alpha)
    B = first.shape[0]
    limits = np.repeat(np.asarray(limits, dtype=np.int64), beam)
    logits, state, weights = step(state, first)
    rows = np.repeat(np.arange(B), beam)
    state = reorder(state, rows)
    rows_of = [weights[rows]] if keep_alignment and weights is not None else None
    log_probs = log_softmax(logits)[rows]
    V = log_probs.shape[-1]
    scores = np.full((B, beam), -np.inf, dtype=np.float32)
    scores[:, 0] = 0.0
    tokens = np.empty((B * beam, 0), dtype=np.int64)
    finished = np.zeros(B * beam, dtype=bool)
    origin = None
    for t in range(int(limits.max())):
        cancel.check()  # a server's request: stop here if its client left or its deadline passed
        done_now = finished | (t >= limits)
        step_lp = np.where(done_now[:, None], -np.inf, log_probs).astype(np.float32)
        step_lp[:, eos_id] = np.where(done_now, 0.0, step_lp[:, eos_id])
        candidates = (scores.reshape(-1, 1) + step_lp).reshape(B, beam * V)
        flat = np.argsort(-candidates, axis=1, kind="stable")[:, :beam]
        scores = np.take_along_axis(candidates, flat, axis=1)
        origin = (flat // V + np.arange(B)[:, None] * beam).reshape(-1)
        chosen = (flat % V).reshape(-1)
        was_done = done_now[origin]
        tokens = np.concatenate([tokens[origin], np.where(was_done, eos_id, chosen)[:, None]], axis=1)
        finished = finished[origin] | ((chosen == eos_id) & ~was_done)
        if rows_of is not None:
            rows_of = [r[origin] for r in rows_of]
        if bool((finished | (t + 1 >= limits)).all()):
            break
        state = reorder(state, origin)
        logits, state, weights = step(state, chosen)
        if rows_of is not None:
            rows_of.append(weights)
        log_probs = log_softmax(logits)
    alignment = np.stack(rows_of, axis=1) if rows_of else None  # [B·K, t, S]
    out: list[list[Found]] = []
    for b in range(B):
        hyps = []
        for k in range(beam):
            i, s = b * beam + k, float(scores[b, k])
            if s == -np.inf:
                continue
            seq = tokens[i].tolist()
            body = seq[: seq.index(eos_id)] if eos_id in seq else seq
            length = len(body) + (1 if finished[i] else 0)
            rows = alignment[i, :length].tolist() if alignment is not None else None
            hyps.append(Found(body, s, normalise(s, length, penalty, alpha), bool(finished[i]), rows))
        hyps.sort(key=lambda h: (h.finished, h.score), reverse=True)  # finished first, as seqlab.decoding.beam
        out.append(hyps[:n_best])
    return out


def hypotheses_json(source: str, source_ids: list[int], hyps: list, source_itos: list[str], target_itos: list[str],
                    joiner: str, attention: bool) -> dict[str, Any]:
    """One input's answer, as every seq2seq predictor gives it: ``{"source", "source_tokens", "hypotheses": [{"text",
    "tokens", "log_prob", "score", "finished"(, "attention": {"source", "target", "weights"})}]}``, the attention
    rows those beam search kept (``<eos>`` included when the hypothesis ended), cut to the source's length."""
    source_tokens = [source_itos[i] for i in source_ids]
    results = []
    for h in hyps:
        tokens = [target_itos[i] for i in h.tokens]
        item = {"text": joiner.join(tokens), "tokens": tokens, "log_prob": h.log_prob, "score": h.score,
                "finished": h.finished}
        if attention and h.alignment is not None:
            target = tokens + (["<eos>"] if h.finished else [])
            item["attention"] = {"source": source_tokens, "target": target,
                                 "weights": [row[: len(source_ids)] for row in h.alignment[: len(target)]]}
        results.append(item)
    return {"source": source, "source_tokens": source_tokens, "hypotheses": results}
