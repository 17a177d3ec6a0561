"""Backpropagation through time written out by hand: one layer, one direction of an RNN, LSTM or GRU as a
``torch.autograd.Function`` whose backward pass is the derivative of the cell equations of
:mod:`seqlab.layers.cells`, step by step from the last to the first.

Why by hand: autograd records ~15 small operations per time step and accumulates ∂L/∂W_hh one step at a
time. Here the forward pass keeps only the gate activations it needs; the backward pass does one
recurrent matrix product per step, and the weight gradients become three large products after the loop
(∂L/∂W_ih = Σ_t δ_tᵀ x_t, ∂L/∂W_hh = Σ_t δ_tᵀ h_{t−1}, ∂L/∂x = δ W_ih, with δ_t the gate pre-activation
gradients of every step stacked). On a CPU with oneDNN, float32 products go to oneDNN's matrix-product
kernel, which runs ≈2× faster on this machine than ``torch.mm`` (MKL takes a generic path on AMD CPUs);
everything else — float64, other devices, a torch without the op — uses ``torch.nn.functional.linear``.

Data layout: the packed-sequence schedule. ``x`` is [N, I], the rows of step t contiguous at
``offsets[t]`` with ``batch_sizes[t]`` rows (sequences sorted by length, longest first, so the rows of
step t are the first n_t sequences). A full batch is the case ``batch_sizes = [B] * T``. No work is spent
on padding, and the final state of each sequence is read at its own last step.

Derivatives (δ denotes ∂L/∂·, σ' = σ(1 − σ), tanh' = 1 − tanh²):

* RNN   h = φ(a), a = gi + W_hh h₋ + b_hh:       δa = δh ⊙ φ'(a);  δh₋ = δa W_hh.
* GRU (reset after), gh = W_hh h₋ + b_hh = (gh_r, gh_z, gh_n):
      δn = δh ⊙ (1 − z) [⊙ m]; δz = δh ⊙ (h₋ − n [⊙ m]); δh₋ ∋ δh ⊙ z
      δa_n = δn ⊙ tanh'(n);   δr = δa_n ⊙ gh_n;  δa_r = δr ⊙ σ'(r); δa_z = δz ⊙ σ'(z)
      δgi = (δa_r, δa_z, δa_n);  δgh = (δa_r, δa_z, δa_n ⊙ r);  δh₋ += δgh W_hh.
  Reset before: a_n = gi_n + W_hn (r ⊙ h₋) + b_hn, so δ(r ⊙ h₋) = δa_n W_hn gives δr = δ(r⊙h₋) ⊙ h₋ and
  δh₋ += δ(r⊙h₋) ⊙ r; W_hn's gradient is taken against r ⊙ h₋ instead of h₋.
* LSTM  c = f ⊙ c₋ + i ⊙ g [⊙ m], h = o ⊙ tanh(c):
      δc += δh ⊙ o ⊙ tanh'(c); δo = δh ⊙ tanh(c); δi = δc ⊙ g; δg = δc ⊙ i; δf = δc ⊙ c₋; δc₋ = δc ⊙ f
      δa = (δi σ'(i), δf σ'(f), δg tanh'(g), δo σ'(o));  δh₋ = δa W_hh.

[m] is the recurrent-dropout mask on the candidate (Semeniuta et al. 2016), fixed over time. With a state
mask s (Gal & Ghahramani 2016) the recurrent products read h̃₋ = h₋ ⊙ s: their weight gradients are taken
against h̃₋, and the part of δh₋ that comes back through them is multiplied by s.
The functions give first derivatives only (``create_graph=True`` raises, naming the alternative); layer norm
and projections stay on the autograd time loop of :mod:`seqlab.layers.recurrent`.
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F

_ONEDNN: bool | None = None  # whether oneDNN's float32 matrix product is available and exact here


def onednn_matmul_available() -> bool:
    """Probe once: oneDNN's linear op exists, runs on dense float32 tensors and agrees with F.linear.
    ``SEQLAB_NO_ONEDNN_MATMUL=1`` turns it off (to compare the two)."""
    global _ONEDNN
    if _ONEDNN is None:
        _ONEDNN = False
        if not os.environ.get("SEQLAB_NO_ONEDNN_MATMUL") and torch.backends.mkldnn.is_available():
            try:
                op = torch.ops.mkldnn._linear_pointwise
                # a private generator: the global one drives dropout, and a draw here on a process's first call
                # would shift every later draw (a resumed run would then drift from the uninterrupted one)
                g = torch.Generator(device="cpu").manual_seed(0)
                x, w, b = (torch.randn(*shape, device="cpu", generator=g) for shape in ((5, 7), (3, 7), (3,)))
                _ONEDNN = bool(torch.allclose(op(x, w.t().contiguous().t(), b, "none", [], ""), F.linear(x, w, b),
                                              atol=1e-5))
            except (AttributeError, RuntimeError):
                _ONEDNN = False
    return _ONEDNN


def first_order_only() -> None:
    """The hand-derived backward computes first derivatives only: refuse ``create_graph=True`` clearly."""
    if torch.is_grad_enabled():
        raise RuntimeError("seqlab's equation path has a hand-derived backward and gives first derivatives only; "
                           "build the layer with path='autograd' (or 'native') for second derivatives")


def linear(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
    """x wᵀ + b, x [M, K], w [N, K] (either may be a transposed view), without autograd."""
    if x.dtype == torch.float32 and x.device.type == "cpu" and onednn_matmul_available():
        return torch.ops.mkldnn._linear_pointwise(x, w, b, "none", [], "")
    return F.linear(x, w, b)


def weight_grad(delta: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """Σ over rows of δᵀ x: [G, N] @ [N, K] → [G, K], computed as (xᵀ δ)ᵀ so oneDNN reads both operands
    along N without a transposed copy."""
    return linear(inputs.t(), delta.t()).t()


def transposed(w: torch.Tensor, steps: int) -> torch.Tensor:
    """wᵀ for the per-step products of the backward pass: copied to contiguous memory when enough steps
    reuse it (≈7% faster products), a view for a few steps (the copy would cost more than it saves)."""
    return w.t().contiguous() if steps > 8 else w.t()


class Schedule:
    """Row offsets of the packed layout: step t occupies rows ``offsets[t] : offsets[t] + sizes[t]``."""

    def __init__(self, batch_sizes: list[int]):
        self.sizes = list(batch_sizes)
        self.offsets = [0]
        for n in self.sizes[:-1]:
            self.offsets.append(self.offsets[-1] + n)
        self.total = self.offsets[-1] + self.sizes[-1]

    def rows(self, t: int) -> slice:
        return slice(self.offsets[t], self.offsets[t] + self.sizes[t])

    def last_rows(self, device) -> torch.Tensor:
        """The packed row of each sequence's last step, in sorted order: [B]."""
        B = self.sizes[0]
        last = torch.empty(B, dtype=torch.long, device="cpu")  # built on the CPU, then moved
        for t, n in enumerate(self.sizes):
            nxt = self.sizes[t + 1] if t + 1 < len(self.sizes) else 0
            if n > nxt:  # sequences nxt..n−1 end at step t
                last[nxt:n] = torch.arange(self.offsets[t] + nxt, self.offsets[t] + n, device="cpu")
        return last.to(device)

    def expand(self, per_sequence: torch.Tensor) -> torch.Tensor:
        """A per-sequence row [B, D] repeated on each packed row of its sequence: [N, D]."""
        return torch.cat([per_sequence[:n] for n in self.sizes])

    def previous(self, out: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
        """h_{t−1} for every packed row: h0 for step 0, else the first n_t rows of step t − 1."""
        parts = [h0[: self.sizes[0]]]
        for t in range(1, len(self.sizes)):
            start = self.offsets[t - 1]
            parts.append(out[start : start + self.sizes[t]])
        return torch.cat(parts)


def _backward_inputs(ctx, delta_ih, x, w_ih, w_ih_index):
    """Gradients of x, W_ih and b_ih from the stacked gate gradients δ [N, G·H]."""
    dx = linear(delta_ih, w_ih.t()) if ctx.needs_input_grad[0] else None
    dw_ih = weight_grad(delta_ih, x) if ctx.needs_input_grad[w_ih_index] else None
    db_ih = delta_ih.sum(0) if ctx.has_bias else None
    return dx, dw_ih, db_ih


def _recurrent_inputs(schedule, out, h0, state_mask):
    """What the recurrent products read at every packed row: h₋, or h₋ ⊙ s with a state mask."""
    h_prev = schedule.previous(out, h0)
    return h_prev if state_mask is None else h_prev * schedule.expand(state_mask)


def _seed(schedule, grad_out, grad_last, last_rows):
    """∂L/∂h for every packed row: the output's gradient (None: zero) plus the final state's at each last step.
    Autograd materialises unused gradients as zeros, so ``grad_last`` is always a tensor."""
    seeded = grad_out.clone() if grad_out is not None else grad_last.new_zeros(schedule.total, grad_last.size(1))
    return seeded.index_add_(0, last_rows, grad_last)


class RNNSequence(torch.autograd.Function):
    """Elman RNN over packed rows: returns (out [N, H], h_n [B, H])."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, batch_sizes, relu, state_mask):
        schedule = Schedule(batch_sizes)
        gi = linear(x, w_ih, b_ih)
        out = torch.empty_like(gi)
        h = h0
        for t, n in enumerate(schedule.sizes):
            s = schedule.rows(t)
            h_in = h[:n] if state_mask is None else h[:n] * state_mask[:n]
            a = torch.add(gi[s], linear(h_in, w_hh, b_hh), out=out[s])
            h = a.relu_() if relu else a.tanh_()
        last = schedule.last_rows(x.device)
        ctx.schedule, ctx.relu, ctx.last, ctx.has_bias = schedule, relu, last, b_ih is not None
        ctx.save_for_backward(x, h0, w_ih, w_hh, out, state_mask)
        return out, out.index_select(0, last)

    @staticmethod
    def backward(ctx, grad_out, grad_last):
        first_order_only()
        x, h0, w_ih, w_hh, out, state_mask = ctx.saved_tensors
        schedule = ctx.schedule
        dh_all = _seed(schedule, grad_out, grad_last, ctx.last)
        delta = torch.empty_like(out)
        w_hh_t = transposed(w_hh, len(schedule.sizes))
        carry = None
        for t in range(len(schedule.sizes) - 1, -1, -1):
            s = schedule.rows(t)
            dh = dh_all[s]
            if carry is not None:
                dh[: carry.size(0)] += carry
            if ctx.relu:
                torch.mul(dh, out[s] > 0, out=delta[s])
            else:
                torch.ops.aten.tanh_backward(dh, out[s], grad_input=delta[s])
            carry = linear(delta[s], w_hh_t) if t or ctx.needs_input_grad[1] else None
            if carry is not None and state_mask is not None:
                carry.mul_(state_mask[: schedule.sizes[t]])
        dh0 = carry
        dx, dw_ih, db_ih = _backward_inputs(ctx, delta, x, w_ih, 2)
        dw_hh = weight_grad(delta, _recurrent_inputs(schedule, out, h0, state_mask))
        db_hh = db_ih
        return dx, dh0, dw_ih, dw_hh, db_ih, db_hh, None, None, None


class GRUSequence(torch.autograd.Function):
    """GRU over packed rows (reset after or before, optional candidate mask): (out [N, H], h_n [B, H])."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, batch_sizes, reset_after, mask, state_mask):
        schedule = Schedule(batch_sizes)
        H = h0.size(1)
        gi = linear(x, w_ih, b_ih)  # [N, 3H]
        rz = gi.new_empty(schedule.total, 2 * H)  # σ(r), σ(z)
        cand = gi.new_empty(schedule.total, H)  # n
        hn = [] if reset_after else gi.new_empty(schedule.total, H)  # after: W_hn h + b_hn per step; before: r ⊙ h₋
        out = gi.new_empty(schedule.total, H)
        if reset_after:
            w_rz, b_rz = w_hh, b_hh
        else:
            w_rz, b_rz = w_hh[: 2 * H], (b_hh[: 2 * H] if b_hh is not None else None)
            w_n, b_n = w_hh[2 * H :], (b_hh[2 * H :] if b_hh is not None else None)
        h = h0
        for t, n in enumerate(schedule.sizes):
            s, h_prev = schedule.rows(t), h[:n]
            h_in = h_prev if state_mask is None else h_prev * state_mask[:n]
            gh = linear(h_in, w_rz, b_rz)
            r_z = torch.add(gi[s, : 2 * H], gh[:, : 2 * H], out=rz[s]).sigmoid_()
            r, z = r_z[:, :H], r_z[:, H:]
            if reset_after:
                hn.append(gh[:, 2 * H :])  # a view of this step's fresh product: kept, not copied
                a = torch.addcmul(gi[s, 2 * H :], r, hn[-1], out=cand[s])
            else:
                torch.mul(r, h_in, out=hn[s])
                a = torch.add(gi[s, 2 * H :], linear(hn[s], w_n, b_n), out=cand[s])
            c = a.tanh_()
            if mask is not None:
                c = c * mask[:n]
            h = torch.lerp(c, h_prev, z, out=out[s])  # (1 − z) ⊙ n + z ⊙ h₋
        last = schedule.last_rows(x.device)
        ctx.schedule, ctx.reset_after, ctx.last, ctx.has_bias = schedule, reset_after, last, b_ih is not None
        ctx.hn_steps = hn if reset_after else None  # intermediates, not inputs or outputs: plain attributes
        ctx.save_for_backward(x, h0, w_ih, w_hh, out, rz, cand, None if reset_after else hn, mask, state_mask)
        return out, out.index_select(0, last)

    @staticmethod
    def backward(ctx, grad_out, grad_last):
        first_order_only()
        x, h0, w_ih, w_hh, out, rz, cand, hn, mask, state_mask = ctx.saved_tensors
        schedule, reset_after, hn_steps = ctx.schedule, ctx.reset_after, ctx.hn_steps
        H = h0.size(1)
        dh_all = _seed(schedule, grad_out, grad_last, ctx.last)
        d_ih = out.new_empty(schedule.total, 3 * H)  # δ of W_ih x + b_ih
        d_hh = out.new_empty(schedule.total, 3 * H)  # δ of the recurrent products (W_hh h₋ or W_hn (r ⊙ h₋))
        w_t = transposed(w_hh, len(schedule.sizes))  # [H, 3H]
        w_rz_t = w_t[:, : 2 * H]
        w_n = w_hh[2 * H :].contiguous()
        d_rz = out.new_empty(schedule.sizes[0], 2 * H)
        carry = None
        for t in range(len(schedule.sizes) - 1, -1, -1):
            s, n = schedule.rows(t), schedule.sizes[t]
            h_prev = h0[:n] if t == 0 else out[schedule.offsets[t - 1] : schedule.offsets[t - 1] + n]
            dh = dh_all[s]
            if carry is not None:
                dh[: carry.size(0)] += carry
            r, z = rz[s, :H], rz[s, H:]
            c = cand[s] if mask is None else cand[s] * mask[:n]
            dc = torch.addcmul(dh, dh, z, value=-1)  # δh ⊙ (1 − z): δ(candidate after the mask)
            if mask is not None:
                dc = dc * mask[:n]
            torch.ops.aten.tanh_backward(dc, cand[s], grad_input=d_ih[s, 2 * H :])
            da_n = d_ih[s, 2 * H :]
            dr, dz = d_rz[:n, :H], d_rz[:n, H:]
            torch.mul(dh, h_prev - c, out=dz)
            if reset_after:
                torch.mul(da_n, hn_steps[t], out=dr)
                torch.mul(da_n, r, out=d_hh[s, 2 * H :])
                d_rh = None
            else:
                d_hh[s, 2 * H :] = da_n
                d_rh = linear(da_n, w_n.t())  # δ(r ⊙ h̃₋)
                torch.mul(d_rh, h_prev if state_mask is None else h_prev * state_mask[:n], out=dr)
            torch.ops.aten.sigmoid_backward(d_rz[:n], rz[s], grad_input=d_hh[s, : 2 * H])
            d_ih[s, : 2 * H] = d_hh[s, : 2 * H]
            if t == 0 and not ctx.needs_input_grad[1]:
                carry = None  # ∂L/∂h0 is not wanted: skip its product
                continue
            if reset_after:
                d_in = linear(d_hh[s], w_t)  # δh̃₋ through the recurrent products
            else:
                d_in = linear(d_hh[s, : 2 * H], w_rz_t).addcmul_(d_rh, r)
            if state_mask is not None:
                d_in.mul_(state_mask[:n])
            carry = d_in.addcmul_(dh, z)
        dx, dw_ih, db_ih = _backward_inputs(ctx, d_ih, x, w_ih, 2)
        h_prev_all = _recurrent_inputs(schedule, out, h0, state_mask)
        if reset_after:
            dw_hh = weight_grad(d_hh, h_prev_all)
        else:
            dw_hh = torch.cat([weight_grad(d_hh[:, : 2 * H], h_prev_all), weight_grad(d_hh[:, 2 * H :], hn)])
        db_hh = d_hh.sum(0) if ctx.has_bias else None
        return dx, carry, dw_ih, dw_hh, db_ih, db_hh, None, None, None, None


class LSTMSequence(torch.autograd.Function):
    """LSTM over packed rows (optional candidate mask): (out [N, H], h_n [B, H], c_n [B, H]).

    The recurrent bias is folded into the input projection: ``b = b_ih + b_hh`` (their gradients are equal).
    """

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, batch_sizes, mask, state_mask):
        schedule = Schedule(batch_sizes)
        H = h0.size(1)
        bias = b_ih + b_hh if b_ih is not None else None
        gi = linear(x, w_ih, bias)  # [N, 4H]
        acts = gi  # overwritten step by step with σ(i), σ(f), tanh(g), σ(o)
        cells = gi.new_empty(schedule.total, H)
        tanh_c = gi.new_empty(schedule.total, H)
        out = gi.new_empty(schedule.total, H)
        h, c = h0, c0
        for t, n in enumerate(schedule.sizes):
            s = schedule.rows(t)
            a = acts[s]
            a.add_(linear(h[:n] if state_mask is None else h[:n] * state_mask[:n], w_hh))
            a[:, : 2 * H].sigmoid_()
            a[:, 2 * H : 3 * H].tanh_()
            a[:, 3 * H :].sigmoid_()
            i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            if mask is not None:
                g = g * mask[:n]
            c = torch.mul(f, c[:n], out=cells[s]).addcmul_(i, g)
            h = torch.mul(o, torch.tanh(c, out=tanh_c[s]), out=out[s])
        last = schedule.last_rows(x.device)
        ctx.schedule, ctx.last, ctx.has_bias = schedule, last, b_ih is not None
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, out, acts, cells, tanh_c, mask, state_mask)
        return out, out.index_select(0, last), cells.index_select(0, last)

    @staticmethod
    def backward(ctx, grad_out, grad_h_last, grad_c_last):
        first_order_only()
        x, h0, c0, w_ih, w_hh, out, acts, cells, tanh_c, mask, state_mask = ctx.saved_tensors
        schedule = ctx.schedule
        H = h0.size(1)
        dh_all = _seed(schedule, grad_out, grad_h_last, ctx.last)
        dc_all = _seed(schedule, None, grad_c_last, ctx.last)
        delta = out.new_empty(schedule.total, 4 * H)
        w_t = transposed(w_hh, len(schedule.sizes))
        carry_h = carry_c = None
        for t in range(len(schedule.sizes) - 1, -1, -1):
            s, n = schedule.rows(t), schedule.sizes[t]
            c_prev = c0[:n] if t == 0 else cells[schedule.offsets[t - 1] : schedule.offsets[t - 1] + n]
            a = acts[s]
            i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            dh = dh_all[s]
            if carry_h is not None:
                dh[: carry_h.size(0)] += carry_h
            dc = torch.ops.aten.tanh_backward(dh * o, tanh_c[s]).add_(dc_all[s])
            if carry_c is not None:
                dc[: carry_c.size(0)] += carry_c
            d = delta[s]
            g_used = g if mask is None else g * mask[:n]
            torch.mul(dc, g_used, out=d[:, :H])  # δi
            torch.mul(dc, c_prev, out=d[:, H : 2 * H])  # δf
            torch.mul(dh, tanh_c[s], out=d[:, 3 * H :])  # δo
            dg = dc * i if mask is None else dc * i * mask[:n]
            torch.ops.aten.sigmoid_backward(d[:, : 2 * H], a[:, : 2 * H], grad_input=d[:, : 2 * H])
            torch.ops.aten.sigmoid_backward(d[:, 3 * H :], o, grad_input=d[:, 3 * H :])
            torch.ops.aten.tanh_backward(dg, g, grad_input=d[:, 2 * H : 3 * H])
            carry_c = dc * f if t or ctx.needs_input_grad[2] else None
            carry_h = linear(d, w_t) if t or ctx.needs_input_grad[1] else None
            if carry_h is not None and state_mask is not None:
                carry_h.mul_(state_mask[:n])
        dx, dw_ih, db = _backward_inputs(ctx, delta, x, w_ih, 3)
        dw_hh = weight_grad(delta, _recurrent_inputs(schedule, out, h0, state_mask))
        return dx, carry_h, carry_c, dw_ih, dw_hh, db, db, None, None, None
