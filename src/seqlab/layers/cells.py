"""Recurrent cells written from their equations, one time step each, with torch.nn's parameter layout.

Shapes: x [B, I], h and c [B, H]; ``gi = W_ih x + b_ih`` is the input projection, computed for all time
steps at once by the layer and passed in per step. ``σ`` is the logistic sigmoid, ``⊙`` the element-wise
product. Initialisation everywhere: U(−1/√H, 1/√H), as torch.nn.

**RNN** (Elman): h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh) (or ReLU).
Parameters ``weight_ih`` [H, I], ``weight_hh`` [H, H], ``bias_ih``, ``bias_hh`` [H].

**LSTM** (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000), gate order
(i, f, g, o) in ``weight_ih`` [4H, I] = (W_ii|W_if|W_ig|W_io) and ``weight_hh`` [4H, H]:

    i = σ(W_ii x + b_ii + W_hi h + b_hi)     f = σ(W_if x + b_if + W_hf h + b_hf)
    g = tanh(W_ig x + b_ig + W_hg h + b_hg)  o = σ(W_io x + b_io + W_ho h + b_ho)
    c_t = f ⊙ c_{t−1} + i ⊙ g                h_t = o ⊙ tanh(c_t)

With a projection (``proj_size`` P, Sak et al. 2014): h_t = W_hr (o ⊙ tanh(c_t)), ``weight_hr`` [P, H], and
``weight_hh`` is [4H, P]. ``forget_bias`` adds a constant to b_hf at initialisation (Jozefowicz et al. 2015
recommend 1).

**GRU** (Cho et al. 2014), gate order (r, z, n) in ``weight_ih`` [3H, I] and ``weight_hh`` [3H, H]:

    r = σ(W_ir x + b_ir + W_hr h + b_hr)     z = σ(W_iz x + b_iz + W_hz h + b_hz)
    reset after  (torch.nn, cuDNN, Keras reset_after=True, the default):
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
    reset before (Cho et al. 2014 as most tutorials print it):
        n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)
    h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}

In-cell variants (the equation path only): ``layer_norm`` normalises W x and W h separately before the
gates and c_t before its tanh (Ba et al. 2016); ``recurrent_dropout`` drops the candidate g / n with a mask
fixed over time (Semeniuta et al. 2016), which never erases memory; ``state_dropout`` drops the recurrent
state where it enters the recurrent products, W_hh (h_{t−1} ⊙ m) with one mask m per sequence (Gal &
Ghahramani 2016; Keras's ``recurrent_dropout``), while the GRU's interpolation and the LSTM's memory keep
the undropped state.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}


def lstm_step(gi: torch.Tensor, h: torch.Tensor, c: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor | None,
              w_hr: torch.Tensor | None = None, ln=None, drop: torch.Tensor | None = None,
              state_drop: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One LSTM step. Without layer norm: one ``addmm`` for all gates, ``chunk`` (whose backward is a single
    concatenation; slicing would make autograd zero-fill a full-size gradient per slice) and ``addcmul`` for c.
    A layer that hoists the input projection passes ``gi = W_ih x + b_ih + b_hh`` and ``b_hh=None``."""
    if state_drop is not None:
        h = h * state_drop
    if ln is None:
        i, f, g, o = torch.addmm(gi if b_hh is None else gi + b_hh, h, w_hh.t()).chunk(4, 1)  # [B, H] each
    else:
        i, f, g, o = (ln[0](gi) + ln[1](F.linear(h, w_hh, b_hh))).chunk(4, 1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    if drop is not None:
        g = g * drop
    c = torch.addcmul(f * c, i, g)
    h = o * torch.tanh(c if ln is None else ln[2](c))
    if w_hr is not None:
        h = F.linear(h, w_hr)
    return h, c


def gru_step(gi: torch.Tensor, h: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor | None,
             reset_after: bool = True, ln=None, drop: torch.Tensor | None = None,
             state_drop: torch.Tensor | None = None) -> torch.Tensor:
    H = h.size(1)
    h_in = h if state_drop is None else h * state_drop  # what the recurrent products see
    if reset_after:
        gh = F.linear(h_in, w_hh, b_hh)
        if ln is not None:
            gi, gh = ln[0](gi), ln[1](gh)
        i_r, i_z, i_n = gi.chunk(3, 1)
        h_r, h_z, h_n = gh.chunk(3, 1)
        r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + r * h_n)
    else:
        b_rz, b_n = (b_hh[: 2 * H], b_hh[2 * H :]) if b_hh is not None else (None, None)
        gh = F.linear(h_in, w_hh[: 2 * H], b_rz)
        if ln is not None:
            gi, gh = ln[0](gi), ln[1](gh)
        i_r, i_z, i_n = gi.chunk(3, 1)
        h_r, h_z = gh.chunk(2, 1)
        r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + F.linear(r * h_in, w_hh[2 * H :], b_n))
    if drop is not None:
        n = n * drop
    return (1 - z) * n + z * h


def rnn_step(gi: torch.Tensor, h: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor | None,
             relu: bool = False, ln=None, state_drop: torch.Tensor | None = None) -> torch.Tensor:
    gh = F.linear(h if state_drop is None else h * state_drop, w_hh, b_hh)
    pre = gi + gh if ln is None else ln[0](gi) + ln[1](gh)
    return torch.relu(pre) if relu else torch.tanh(pre)


class _Cell(nn.Module):
    """One step of a cell; the parameter names and shapes of torch.nn.LSTMCell / GRUCell / RNNCell."""

    mode = "lstm"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, layer_norm: bool = False):
        super().__init__()
        gates = GATES[self.mode] * hidden_size
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(gates, input_size))
        self.weight_hh = nn.Parameter(torch.empty(gates, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(gates)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(gates)) if bias else None
        self.ln = layer_norms(self.mode, hidden_size) if layer_norm else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)
        if self.ln is not None:
            for norm in self.ln:
                norm.reset_parameters()

    def project(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight_ih, self.bias_ih)


def layer_norms(mode: str, hidden_size: int) -> nn.ModuleList:
    """LayerNorms for W x, W h (over all gates) and, for an LSTM, c_t."""
    gates = GATES[mode] * hidden_size
    norms = [nn.LayerNorm(gates), nn.LayerNorm(gates)]
    if mode == "lstm":
        norms.append(nn.LayerNorm(hidden_size))
    return nn.ModuleList(norms)


class LSTMCell(_Cell):
    mode = "lstm"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, layer_norm: bool = False,
                 forget_bias: float = 0.0):
        self.forget_bias = forget_bias
        super().__init__(input_size, hidden_size, bias, layer_norm)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.forget_bias and self.bias_hh is not None:
            with torch.no_grad():
                self.bias_hh[self.hidden_size : 2 * self.hidden_size] += self.forget_bias

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        if state is None:
            zeros = x.new_zeros(x.size(0), self.hidden_size)
            state = (zeros, zeros)
        return lstm_step(self.project(x), state[0], state[1], self.weight_hh, self.bias_hh, ln=self.ln)


class GRUCell(_Cell):
    mode = "gru"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, layer_norm: bool = False,
                 reset_after: bool = True):
        super().__init__(input_size, hidden_size, bias, layer_norm)
        self.reset_after = reset_after

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        h = x.new_zeros(x.size(0), self.hidden_size) if h is None else h
        return gru_step(self.project(x), h, self.weight_hh, self.bias_hh, self.reset_after, ln=self.ln)


class RNNCell(_Cell):
    mode = "rnn_tanh"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 layer_norm: bool = False):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be tanh or relu, got {nonlinearity!r}")
        self.mode = f"rnn_{nonlinearity}"
        super().__init__(input_size, hidden_size, bias, layer_norm)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        h = x.new_zeros(x.size(0), self.hidden_size) if h is None else h
        return rnn_step(self.project(x), h, self.weight_hh, self.bias_hh, self.mode == "rnn_relu", ln=self.ln)
