"""Gradient flow through time: why a tanh RNN forgets and an LSTM does not.

For a one-layer recurrent network run over a sequence x_1..x_T and the loss L = ½‖h_T‖², this computes
‖∂L/∂h_t‖ for every step t (mean over the batch). By the chain rule

    ∂L/∂h_t = ∂L/∂h_T · ∏_{k=t+1}^{T} ∂h_k/∂h_{k−1},

a product of T − t Jacobians: for a tanh RNN each is diag(1 − h_k²) W_hh, whose norm is usually < 1, so the
gradient vanishes geometrically with distance. In an LSTM the memory path c_k = f_k ⊙ c_{k−1} + … has
Jacobian diag(f_k), so along it the gradient scales by ∏ f_k, which stays near 1 when the forget gates
are open: ``forget_product[t]`` = mean over units and batch of ∏_{k=t+1}^{T} f_k.

The cells are run step by step from their equations (``seqlab.layers.cells``) with each h_t kept for autograd.
"""

from __future__ import annotations

from typing import Any

import torch

from ..layers.cells import gru_step, lstm_step, rnn_step
from ..layers.recurrent import GRU, LSTM, RNN, RecurrentLayer

LAYERS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def gradient_norms(layer: RecurrentLayer, x: torch.Tensor) -> dict[str, Any]:
    """‖∂L/∂h_t‖ for t = 1..T (and ∏f for an LSTM) for the first layer's forward direction; x [B, T, I]."""
    w_ih, w_hh = layer.weight_ih_l0, layer.weight_hh_l0
    b_ih = layer.bias_ih_l0 if layer.bias else None
    b_hh = layer.bias_hh_l0 if layer.bias else None
    B, H = x.size(0), layer.hidden_size
    gi = torch.nn.functional.linear(x, w_ih, b_ih)
    h = x.new_zeros(B, H)
    c = x.new_zeros(B, H)
    hs, forget = [], []
    for g_t in gi.unbind(1):
        if layer.mode == "lstm":
            f = torch.sigmoid(g_t[:, H : 2 * H] + torch.nn.functional.linear(h, w_hh[H : 2 * H], None if b_hh is None else b_hh[H : 2 * H]))
            forget.append(f.detach())
            h, c = lstm_step(g_t, h, c, w_hh, b_hh)
        elif layer.mode == "gru":
            h = gru_step(g_t, h, w_hh, b_hh, layer.reset_after)
        else:
            h = rnn_step(g_t, h, w_hh, b_hh, layer.mode == "rnn_relu")
        h.retain_grad()
        hs.append(h)
    loss = 0.5 * hs[-1].pow(2).sum(1).mean()
    loss.backward()
    norms = [float(h.grad.norm(dim=1).mean()) for h in hs]
    out: dict[str, Any] = {"cell": layer.mode, "T": len(hs), "grad_norm": norms}
    if forget:
        f = torch.stack(forget, 1)  # [B, T, H]
        # ∏_{k=t+1}^{T} f_k: reversed cumulative product, shifted by one step
        tail = torch.cat([f[:, 1:], torch.ones_like(f[:, :1])], 1).flip(1).cumprod(1).flip(1)
        out["forget_product"] = [float(v) for v in tail.mean((0, 2))]
    return out


def model_report(model_dir, length: int = 100, batch: int = 32, seed: int = 0, text: str | None = None) -> dict[str, Any]:
    """``gradient_norms`` for the first recurrent layer of a saved model, on the inputs its task declares
    (``Task.gradient_inputs``: adding-problem sequences, or a text classifier's embedded ``text``)."""
    from ..tasks import load_task

    art, task = load_task(model_dir)
    layer = next((m for m in art.model.modules() if isinstance(m, RecurrentLayer)), None)
    if layer is None:
        raise ValueError(f"{model_dir}: the model has no recurrent layer")
    try:
        x = task.gradient_inputs(art.model, text, length, batch, seed)
    except ValueError as err:
        raise ValueError(f"{model_dir}: {err}") from None
    layer.requires_grad_(True)
    return gradient_norms(layer, x)


def compare_cells(length: int = 100, hidden: int = 64, input_size: int = 16, batch: int = 32, seed: int = 0,
                  cells: tuple[str, ...] = ("rnn", "lstm", "gru"), forget_bias: float = 1.0) -> dict[str, Any]:
    """Freshly initialised cells side by side on the same random input sequence."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, length, input_size, generator=g)
    results = {}
    for name in cells:
        torch.manual_seed(seed)
        extra = {"forget_bias": forget_bias} if name == "lstm" else {}
        layer = LAYERS[name](input_size, hidden, batch_first=True, **extra)
        results[name] = gradient_norms(layer, x)
    return {"length": length, "hidden": hidden, "input_size": input_size, "seed": seed,
            "forget_bias": forget_bias, "cells": results}
