"""Which tokens drove a classifier's decision, by three of captum's attribution methods (the ``explain`` extra).

The explained quantity is the model's probability of the target class (the predicted one unless given),
p_c(x) = softmax(f(x))_c, for one text x of tokens w₁ … w_T. A token "removed" means its id replaced by
``<pad>``, whose embedding row is zero (an all-zero input vector).

* **integrated gradients** (Sundararajan et al. 2017) on the word embeddings e_t, from the all-``<pad>``
  baseline e': a_t = Σ_d (e_td − e'_td) · ∫₀¹ ∂p_c(e' + α(e − e'))/∂e_td dα (Riemann sum over ``steps``).
  Completeness: Σ_t a_t = p_c(x) − p_c(baseline); the gap is reported as ``delta``.
* **occlusion** (Zeiler & Fergus 2014): a_t = p_c(x) − p_c(x with w_t removed).
* **LIME** (Ribeiro et al. 2016): a linear model fitted to p_c on ``samples`` random subsets of the tokens,
  weighted by similarity to x; a_t is token t's coefficient. Seeded.

Works for any classifier with ``forward(ids, lengths)`` and ``word_embedding()`` (the recurrent classifier,
TextCNN).
"""

from __future__ import annotations

import html
from typing import Any

import torch

METHODS = ("integrated_gradients", "occlusion", "lime")
SHORT = {"ig": "integrated_gradients", "occlusion": "occlusion", "lime": "lime"}


def _captum():
    try:
        import captum.attr as attr
        from captum._utils.models.linear_model import SkLearnLinearRegression
    except ImportError:
        raise RuntimeError("explanations need captum: pip install 'seqlab[explain]'") from None
    return attr, SkLearnLinearRegression


def explain(model: torch.nn.Module, tokens: list[str], ids: list[int], labels: list[str], pad_id: int,
            methods: tuple[str, ...] = METHODS, target: str | None = None, steps: int = 64, samples: int = 500,
            seed: int = 0) -> dict[str, Any]:
    """Per-token attributions of p(target | text) by each method, with the prediction and IG's delta."""
    attr, LinearRegression = _captum()
    model.eval()
    x = torch.tensor([ids])
    lengths = torch.tensor([len(ids)])
    baseline = torch.full_like(x, pad_id)

    def prob(batch_ids: torch.Tensor, batch_lengths: torch.Tensor) -> torch.Tensor:
        return model(batch_ids, batch_lengths.expand(batch_ids.size(0))).softmax(-1)

    with torch.no_grad():
        probs = prob(x, lengths)[0]
        base_probs = prob(baseline, lengths)[0]
    predicted = int(probs.argmax())
    if target is None:
        c = predicted
    elif target in labels:
        c = labels.index(target)
    else:
        raise ValueError(f"unknown target label {target!r} (known: {', '.join(labels)})")
    out: dict[str, Any] = {
        "tokens": tokens, "predicted": labels[predicted], "target": labels[c],
        "probabilities": {name: float(p) for name, p in zip(labels, probs)},
        "baseline_probability": float(base_probs[c]), "attributions": {},
    }
    for method in methods:
        method = SHORT.get(method, method)
        if method == "integrated_gradients":
            ig = attr.LayerIntegratedGradients(prob, model.word_embedding())
            scores, delta = ig.attribute(x, baselines=baseline, target=c, additional_forward_args=(lengths,),
                                         n_steps=steps, return_convergence_delta=True)
            scores = scores.sum(-1)
            out["delta"] = float(delta.abs().max())
        elif method == "occlusion":
            scores = attr.Occlusion(prob).attribute(x, sliding_window_shapes=(1,), baselines=pad_id, target=c,
                                                     additional_forward_args=(lengths,))
        elif method == "lime":
            torch.manual_seed(seed)
            lime = attr.Lime(prob, interpretable_model=LinearRegression())
            scores = lime.attribute(x, baselines=pad_id, target=c, additional_forward_args=(lengths,),
                                    n_samples=samples, perturbations_per_eval=64)
        else:
            raise ValueError(f"unknown method {method!r} (known: ig, occlusion, lime)")
        out["attributions"][method] = [float(v) for v in scores[0].detach()]
    return out


def _colour(score: float, scale: float) -> tuple[int, int, int]:
    """Green for evidence for the target, red against; white at zero."""
    a = min(abs(score) / scale, 1.0) if scale > 0 else 0.0
    if score >= 0:
        return int(255 - 155 * a), 255, int(255 - 155 * a)
    return 255, int(255 - 155 * a), int(255 - 155 * a)


def render_rich(result: dict[str, Any], method: str):
    """A rich ``Text`` with each token on a background coloured by its attribution."""
    from rich.text import Text

    scores = result["attributions"][method]
    scale = max((abs(s) for s in scores), default=0.0)
    text = Text()
    for token, score in zip(result["tokens"], scores):
        r, g, b = _colour(score, scale)
        text.append(f" {token} ", style=f"black on rgb({r},{g},{b})")
        text.append(" ")
    return text


def render_html(result: dict[str, Any]) -> str:
    """A small standalone HTML page: one row of coloured tokens per method."""
    rows = []
    for method, scores in result["attributions"].items():
        scale = max((abs(s) for s in scores), default=0.0)
        spans = "".join(
            f'<span title="{s:+.4f}" style="background:rgb{_colour(s, scale)};padding:2px 3px;margin:1px;'
            f'border-radius:3px">{html.escape(t)}</span>' for t, s in zip(result["tokens"], scores))
        rows.append(f"<tr><th style='text-align:right;padding-right:8px'>{method.replace('_', ' ')}</th><td>{spans}</td></tr>")
    probs = ", ".join(f"{k} {v:.3f}" for k, v in result["probabilities"].items())
    return (f"<!doctype html><meta charset='utf-8'><title>seqlab explain</title>"
            f"<body style='font-family:sans-serif'><p>predicted <b>{html.escape(result['predicted'])}</b> ({probs}); "
            f"attributions of p({html.escape(result['target'])}); green for, red against.</p>"
            f"<table>{''.join(rows)}</table></body>")
