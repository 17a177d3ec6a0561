"""Seq2seq without torch: one result as lines for the terminal (the option table, shared with the exported model,
is ``seqlab.options.SEQ2SEQ``)."""

from __future__ import annotations

from typing import Any

RUNTIME = "seq2seq"  # how an export of this family runs (``seqlab.serving.onnx_predictor.RUNTIMES``)


def summary(result: dict[str, Any]) -> str:
    """The best hypothesis; with several (``n_best``), one line each with its score."""
    hypotheses = result["hypotheses"]
    if len(hypotheses) > 1:
        return "\n".join(f"{h['score']:8.3f}  {h['text']}" for h in hypotheses)
    return hypotheses[0]["text"]
