"""Language models without torch: the next token from a row of logits by the same rules as
``seqlab.decoding.sampling`` (temperature, then top-k, then top-p; greedy takes the argmax), in numpy, for the
exported model; and one result as a line for the terminal.

    z = logits / T;  z_i = -inf where z_i < k-th largest;  keep the smallest set of tokens whose probability
    reaches p (the most likely always kept);  token ~ softmax(z)
"""

from __future__ import annotations

from typing import Any

import numpy as np

RUNTIME = "language_model"  # how an export of this family runs (``seqlab.serving.onnx_predictor.RUNTIMES``)


def choose(logits: np.ndarray, options: dict[str, Any], rng: np.random.Generator) -> int:
    """The next token from logits [V] under the inference options (``greedy``, ``temperature``, ``top_k``,
    ``top_p``)."""
    if options["greedy"]:
        return int(logits.argmax())
    z = logits.astype(np.float64) / options["temperature"]
    if options["top_k"] and options["top_k"] < z.size:
        kth = np.sort(z)[-options["top_k"]]
        z = np.where(z < kth, -np.inf, z)
    if options["top_p"] is not None and options["top_p"] < 1.0:
        order = np.argsort(-z, kind="stable")
        p = np.exp(z[order] - z[order[0]])
        p /= p.sum()
        before = np.cumsum(p) - p
        z[order[before >= options["top_p"]]] = -np.inf
    p = np.exp(z - z.max())
    p /= p.sum()
    return int(rng.choice(z.size, p=p))


def summary(result: dict[str, Any]) -> str:
    """The prompt and its continuation."""
    return result["prompt"] + result["text"]
