"""Recurrent layers — RNN, LSTM, GRU — stacked and bidirectional, with torch.nn's calling convention and
parameter names (``weight_ih_l0``, ``weight_hh_l1_reverse``…), so a torch.nn state_dict loads both ways.

``forward(input, hx=None, lengths=None) -> (output, h_n)`` (LSTM: ``(output, (h_n, c_n))``). ``input`` is
[T, B, I] ([B, T, I] with ``batch_first``) or a PackedSequence; ``lengths`` [B] (≥ 1) marks the real steps
of a padded batch. Results equal torch.nn's on the packed batch: the output is zero after each sequence's
end, the final state is taken at each sequence's last step, and the backward direction reads each sequence
reversed within its own length.

Three paths behind one module (``path="auto"`` picks, see :meth:`RecurrentLayer.route`):

* **native** — the configuration torch's fused kernels express (any cell, projections, weight drop, locked
  dropout): the weights are passed to ``torch._VF.lstm/gru/rnn_*``, which runs on oneDNN for a padded float
  LSTM batch. Variable lengths stay on that kernel: the input gets one extra feature, 1 on padding steps, whose
  fixed weight is +10⁴ into the forget gate (GRU: update gate) and −10⁴ into the input gate, so there
  f = 1 and i = 0 exactly (z = 1 for a GRU) and the state passes through the padding unchanged, with zero
  gradient. The backward direction is run on each sequence reversed within its length. A packed batch,
  by contrast, drops torch.nn.LSTM off oneDNN onto a path 1.6–2.6× slower.
* **equation** — the cell equations of :mod:`seqlab.layers.cells` with the hand-derived backward pass of
  :mod:`seqlab.layers.bptt`, on the packed schedule (no work on padding), its matrix products on oneDNN.
  Covers recurrent dropout and the reset-before GRU; the default for GRU and RNN on CPU, where torch has no
  oneDNN kernel (1.5–1.8× torch.nn.GRU).
* **autograd** — the same equations on the same packed schedule, stepped through autograd: the input
  projection for all steps is one matrix product, the gates one recurrent product per step, and the loop
  iterates over ``split`` views (indexing a precomputed tensor per step makes autograd build a full-size zero
  gradient per step). Layer norm, and projections combined with an in-cell variant, run here; so does
  anything that needs a second derivative.

Regularisers, all options of this module rather than patches: ``dropout`` between layers (as torch.nn;
``locked_dropout=True`` uses one mask per sequence for it), ``input_dropout`` / ``output_dropout`` —
locked (variational) dropout with one mask per sequence over time (Gal & Ghahramani 2016), ``weight_drop``
— DropConnect on ``weight_hh`` (Wan et al. 2013; AWD-LSTM), one mask per forward pass, passed to the native
kernel as the dropped weight; ``recurrent_dropout`` (on the candidate), ``state_dropout`` (on h_{t−1} where it
enters the recurrent products, Keras's ``recurrent_dropout``) and ``layer_norm`` in the cell (equation / autograd
paths).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from .bptt import GRUSequence, LSTMSequence, RNNSequence, onednn_matmul_available
from .cells import GATES, gru_step, layer_norms, lstm_step, rnn_step

PATHS = ("auto", "native", "equation", "autograd")
BPTT_MIN_STEPS = {"gru": 2, "rnn_tanh": 4, "rnn_relu": 4}  # measured crossovers, benchmarks/recurrent_short.py
FREEZE = 1.0e4  # saturates σ to exactly 0 or 1 in float32 and float64
MIN_GROUP = 8  # sequences per length group (smaller sub-batches waste the matrix-product kernel)
GROUP_SAVING = 0.15  # a length-group split must save this fraction of the padded work


def drop_connect(w: torch.Tensor, p: float) -> torch.Tensor:
    """w with each entry zeroed with probability p and the rest scaled by 1/(1−p) (DropConnect).

    Drawn as uniform numbers compared with p: twice as fast on this CPU as ``bernoulli_`` (F.dropout), which
    matters for a 2048 × 512 recurrent matrix redrawn at every forward pass.
    """
    mask = torch.rand_like(w, requires_grad=False).ge_(p).mul_(1 / (1 - p))  # in place: {0, 1/(1−p)}
    return w * mask


def locked_dropout_mask(x: torch.Tensor, p: float) -> torch.Tensor:
    """A mask [B, 1, D] with values in {0, 1/(1−p)}, shared by every time step of a sequence."""
    return x.new_empty(x.size(0), 1, x.size(2)).bernoulli_(1 - p) / (1 - p)


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence of x [B, T, D] within its own length; padding stays in place."""
    T = x.size(1)
    t = torch.arange(T, device=x.device)[None, :]
    idx = torch.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)  # [B, T]
    return x.gather(1, idx.unsqueeze(-1).expand(-1, -1, x.size(2)))


def last_step(out: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """out[b, lengths[b] − 1] for each b: [B, D]."""
    idx = (lengths - 1).view(-1, 1, 1).expand(-1, 1, out.size(2))
    return out.gather(1, idx).squeeze(1)


def _autocast_on(x: torch.Tensor) -> bool:
    try:
        return torch.is_autocast_enabled(x.device.type)
    except TypeError:  # torch < 2.4's signature
        return torch.is_autocast_cpu_enabled() if x.device.type == "cpu" else torch.is_autocast_enabled()


class RecurrentLayer(nn.Module):
    """Shared machinery; use :class:`LSTM`, :class:`GRU` or :class:`RNN`."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 reset_after: bool = True, layer_norm: bool = False, recurrent_dropout: float = 0.0,
                 weight_drop: float = 0.0, input_dropout: float = 0.0, output_dropout: float = 0.0,
                 locked_dropout: bool = False, forget_bias: float = 0.0, state_dropout: float = 0.0,
                 path: str = "auto"):
        super().__init__()
        if mode not in GATES:
            raise ValueError(f"unknown recurrent mode {mode!r}")
        if proj_size and (mode != "lstm" or proj_size >= hidden_size):
            raise ValueError("proj_size is for LSTMs and must be smaller than hidden_size")
        for name, p in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout), ("weight_drop", weight_drop),
                        ("input_dropout", input_dropout), ("output_dropout", output_dropout),
                        ("state_dropout", state_dropout)):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {p}")
        if path not in PATHS:
            raise ValueError(f"path must be one of {', '.join(PATHS)}, got {path!r}")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = dropout, bidirectional, proj_size
        self.reset_after, self.layer_norm, self.recurrent_dropout = reset_after, layer_norm, recurrent_dropout
        self.weight_drop, self.input_dropout, self.output_dropout = weight_drop, input_dropout, output_dropout
        self.locked_dropout, self.forget_bias, self.state_dropout = locked_dropout, forget_bias, state_dropout
        self.max_length_groups = 4  # ragged LSTM batches: at most this many length groups (1 turns it off)
        needs_equation = (layer_norm or recurrent_dropout > 0 or state_dropout > 0
                          or (mode == "gru" and not reset_after))
        if path == "native" and needs_equation:
            raise ValueError("layer_norm, recurrent_dropout, state_dropout and reset-before GRU need path='equation'")
        self.path = path
        self.needs_equation = needs_equation
        self.num_directions = 2 if bidirectional else 1
        gates = GATES[mode] * hidden_size
        out_h = proj_size or hidden_size
        self._weight_names: list[list[str]] = []  # per (layer, direction), in _VF order
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else out_h * self.num_directions
            for direction in range(self.num_directions):
                sfx = f"_l{layer}" + ("_reverse" if direction else "")
                names = [f"weight_ih{sfx}", f"weight_hh{sfx}"]
                self.register_parameter(names[0], nn.Parameter(torch.empty(gates, layer_input)))
                self.register_parameter(names[1], nn.Parameter(torch.empty(gates, out_h)))
                if bias:
                    names += [f"bias_ih{sfx}", f"bias_hh{sfx}"]
                    self.register_parameter(names[2], nn.Parameter(torch.empty(gates)))
                    self.register_parameter(names[3], nn.Parameter(torch.empty(gates)))
                if proj_size:
                    names.append(f"weight_hr{sfx}")
                    self.register_parameter(names[-1], nn.Parameter(torch.empty(proj_size, hidden_size)))
                self._weight_names.append(names)
        self.norms = (nn.ModuleList(layer_norms(mode, hidden_size) for _ in self._weight_names)
                      if layer_norm else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """U(−1/√H, 1/√H) for every weight and bias, as torch.nn; then ``forget_bias`` on b_hf."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        with torch.no_grad():
            for names in self._weight_names:
                for name in names:
                    nn.init.uniform_(getattr(self, name), -bound, bound)
                if self.forget_bias and self.bias and self.mode == "lstm":
                    getattr(self, names[3])[self.hidden_size : 2 * self.hidden_size] += self.forget_bias
        if self.norms is not None:
            for group in self.norms:
                for norm in group:
                    norm.reset_parameters()

    # ------------------------------------------------------------------ helpers
    def _weights(self, index: int) -> list[torch.Tensor]:
        """The weights of one (layer, direction), with DropConnect applied to weight_hh in training."""
        weights = [getattr(self, n) for n in self._weight_names[index]]
        if self.weight_drop and self.training:
            weights[1] = drop_connect(weights[1], self.weight_drop)
        return weights

    def _dropout(self, x: torch.Tensor, p: float, locked: bool) -> torch.Tensor:
        if not p or not self.training:
            return x
        return x * locked_dropout_mask(x, p) if locked else F.dropout(x, p, True)

    def _initial_state(self, x: torch.Tensor, hx):
        L, B = self.num_layers * self.num_directions, x.size(0)
        out_h = self.proj_size or self.hidden_size
        if hx is None:
            h0 = x.new_zeros(L, B, out_h)
            return (h0, x.new_zeros(L, B, self.hidden_size)) if self.mode == "lstm" else h0
        return hx

    # ------------------------------------------------------------------ forward
    def forward(self, input, hx=None, lengths: torch.Tensor | None = None):
        packed = isinstance(input, PackedSequence)
        if packed:
            sorted_indices, unsorted_indices, batch_sizes = input.sorted_indices, input.unsorted_indices, input.batch_sizes
            x, lengths = pad_packed_sequence(input, batch_first=True)
            packed_lengths = lengths
        else:
            x = input if self.batch_first else input.transpose(0, 1)  # [B, T, I]
        if x.dtype in (torch.bfloat16, torch.float16) and x.dtype != self.weight_ih_l0.dtype and _autocast_on(x):
            x = x.to(self.weight_ih_l0.dtype)  # a bf16 activation from an autocast layer below
        self._check_input(x, lengths)
        if lengths is not None:
            lengths = torch.as_tensor(lengths, device=x.device).long()
            if bool((lengths == x.size(1)).all()):
                lengths = None  # every sequence fills the batch: nothing to mask
            else:  # padding never reaches the state, whatever it holds (NaN, inf, 1e5)
                pad = torch.arange(x.size(1), device=x.device).unsqueeze(0) >= lengths.unsqueeze(1)  # [B, T]
                x = x.masked_fill(pad.unsqueeze(2), 0.0)
        state = self._initial_state(x, hx)
        with torch.autocast(x.device.type, enabled=False):  # under bf16 autocast the recurrence stays in its weights' dtype
            out, state = self._run(x, state, lengths)
        if packed:
            if sorted_indices is not None:
                out, packed_lengths = out.index_select(0, sorted_indices), packed_lengths[sorted_indices.cpu()]
            data = pack_padded_sequence(out, packed_lengths.cpu(), batch_first=True).data
            return PackedSequence(data, batch_sizes, sorted_indices, unsorted_indices), state
        return (out if self.batch_first else out.transpose(0, 1)), state

    def _check_input(self, x: torch.Tensor, lengths) -> None:
        """torch.nn's checks, with messages that say what to change."""
        weight = self.weight_ih_l0
        if x.dim() != 3:
            raise ValueError(f"{type(self).__name__}: expected a 3-D input (batch, time, features), got shape {tuple(x.shape)}")
        if x.size(2) != self.input_size:
            raise ValueError(f"{type(self).__name__}: input has {x.size(2)} features, the layer expects {self.input_size}")
        if x.dtype != weight.dtype:
            raise ValueError(f"{type(self).__name__}: input is {x.dtype} but the layer's weights are {weight.dtype}; "
                             f"cast one to the other (input.to({weight.dtype}) or layer.to({x.dtype}))")
        if x.size(1) == 0:
            raise ValueError(f"{type(self).__name__}: the input has 0 time steps")
        if lengths is not None:
            lengths = lengths if torch.is_tensor(lengths) else torch.as_tensor(lengths, device="cpu")
            if lengths.dim() != 1 or lengths.numel() != x.size(0):
                raise ValueError(f"{type(self).__name__}: lengths must hold one length per sequence ({x.size(0)}), "
                                 f"got shape {tuple(lengths.shape)}")
            if lengths.numel() and (int(lengths.min()) < 1 or int(lengths.max()) > x.size(1)):
                bad = int(((lengths < 1) | (lengths > x.size(1))).nonzero()[0])
                raise ValueError(f"{type(self).__name__}: lengths must be between 1 and {x.size(1)} (the time steps); "
                                 f"sequence {bad} has length {int(lengths[bad])}")

    def route(self, x: torch.Tensor) -> str:
        """Which implementation runs this input: ``native`` (torch's fused kernels), ``bptt`` (the cell
        equations with the hand-derived backward of :mod:`seqlab.layers.bptt`) or ``autograd`` (the cell
        equations stepped through autograd: layer norm, projections with in-cell variants, or on request).

        ``auto`` takes the fastest measured on CPU (benchmarks/recurrent.py, recurrent_short.py): the oneDNN
        LSTM kernel for an LSTM; for a GRU or RNN, which have no oneDNN kernel in torch, the hand-derived BPTT
        on oneDNN matrix products (1.5–1.8× torch.nn.GRU) once a call has ``BPTT_MIN_STEPS`` steps (below
        that, its per-call cost outweighs the gain); torch's kernels elsewhere (CUDA has cuDNN)."""
        bptt_ok = not self.layer_norm and not self.proj_size  # what the hand-derived backward covers
        if self.path == "autograd":
            return "autograd"
        if self.path == "equation" or self.needs_equation:
            return "bptt" if bptt_ok else "autograd"
        if self.path == "native" or self.mode == "lstm" or not bptt_ok:
            return "native"
        if x.size(1) < BPTT_MIN_STEPS.get(self.mode, 1):
            return "native"
        return "bptt" if x.device.type == "cpu" and onednn_matmul_available() else "native"

    def _run(self, x: torch.Tensor, state, lengths: torch.Tensor | None):
        lstm = self.mode == "lstm"
        h0, c0 = state if lstm else (state, None)
        x = self._dropout(x, self.input_dropout, locked=True)
        fused = not (self.locked_dropout and self.dropout and self.training)
        route = self.route(x)
        if route != "native":
            out, h_n, c_n = self._packed_layers(x, h0, c0, lengths, route)
        elif lengths is None and fused:
            out, h_n, c_n = self._native_all_layers(x, h0, c0)
        elif lengths is not None and not lstm and fused:
            (out, h_n), c_n = self._native_packed(x, h0, lengths), None
        elif lengths is not None and lstm and self.length_groups(lengths) > 1:
            out, h_n, c_n = self._native_grouped(x, h0, c0, lengths, fused)
        else:
            out, state_n = self._run_layers(x, h0, c0, lengths)
            h_n, c_n = state_n if lstm else (state_n, None)
        out = self._dropout(out, self.output_dropout, locked=True)
        return out, ((h_n, c_n) if lstm else h_n)

    def _packed_layers(self, x, h0, c0, lengths, route: str):
        """Every layer and direction on the packed schedule, by the cell equations: with the hand-derived
        backward (``route="bptt"``) or through autograd (``"autograd"``).

        The batch is packed once (rows of step t contiguous, sequences sorted by length); the backward
        direction reads each sequence reversed within its length, which on packed rows is a permutation;
        layers pass packed rows to each other, and the result is unpacked once at the end."""
        B, T = x.size(0), x.size(1)
        if lengths is None:
            data, sizes, order = x.transpose(0, 1).reshape(T * B, x.size(2)), [B] * T, None
            sorted_lengths = torch.full((B,), T, device=x.device)
        else:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            data, sizes, order = packed.data, packed.batch_sizes.tolist(), packed.sorted_indices
            sorted_lengths = lengths.index_select(0, order)
        batch_sizes = torch.tensor(sizes, device="cpu")  # the schedule is built on the CPU, then moved
        step = torch.repeat_interleave(torch.arange(len(sizes), device="cpu"), batch_sizes).to(x.device)  # t of each row
        offsets = (torch.cumsum(batch_sizes, 0) - batch_sizes).to(x.device)
        seq = torch.arange(data.size(0), device=x.device) - offsets[step]  # sorted sequence of each row
        reverse = offsets[sorted_lengths[seq] - 1 - step] + seq if self.bidirectional else None
        if order is not None:
            h0 = h0.index_select(1, order)
            c0 = c0.index_select(1, order) if c0 is not None else None
        lstm = self.mode == "lstm"
        h_list, c_list = [], []
        for layer in range(self.num_layers):
            if layer and self.dropout and self.training:
                if self.locked_dropout:  # one mask per sequence, repeated on each of its rows
                    p = self.dropout
                    data = data * data.new_empty(B, data.size(1)).bernoulli_(1 - p).div_(1 - p)[seq]
                else:
                    data = F.dropout(data, self.dropout, True)
            outs = []
            for d in range(self.num_directions):
                index = layer * self.num_directions + d
                inp = data.index_select(0, reverse) if d else data
                run = self._bptt_direction if route == "bptt" else self._autograd_direction
                o, h, c = run(index, inp, h0[index], c0[index] if lstm else None, sizes)
                outs.append(o.index_select(0, reverse) if d else o)
                h_list.append(h)
                c_list.append(c)
            data = torch.cat(outs, 1) if len(outs) > 1 else outs[0]
        h_n = torch.stack(h_list)
        c_n = torch.stack(c_list) if lstm else None
        if order is None:
            return data.view(T, B, -1).transpose(0, 1), h_n, c_n
        unsorted = packed.unsorted_indices
        out, _ = pad_packed_sequence(PackedSequence(data, packed.batch_sizes, order, unsorted), batch_first=True,
                                     total_length=T)
        return out, h_n.index_select(1, unsorted), (c_n.index_select(1, unsorted) if lstm else None)

    def _bptt_direction(self, index, data, h0, c0, sizes):
        weights = self._weights(index)
        w_ih, w_hh = weights[0], weights[1]
        b_ih, b_hh = (weights[2], weights[3]) if self.bias else (None, None)
        mask, state_mask = self._cell_masks(h0)
        if self.mode == "lstm":
            return LSTMSequence.apply(data, h0, c0, w_ih, w_hh, b_ih, b_hh, sizes, mask, state_mask)
        if self.mode == "gru":
            out, h = GRUSequence.apply(data, h0, w_ih, w_hh, b_ih, b_hh, sizes, self.reset_after, mask, state_mask)
        else:
            out, h = RNNSequence.apply(data, h0, w_ih, w_hh, b_ih, b_hh, sizes, self.mode == "rnn_relu", state_mask)
        return out, h, None

    def _cell_masks(self, h0: torch.Tensor):
        """One direction's in-cell dropout masks, one row per sequence, fixed over time, in {0, 1/(1−p)}: on the
        candidate (``recurrent_dropout``, [B, H]) and on the state entering the recurrent products
        (``state_dropout``, shaped like h0). Drawn in this order by both equation paths."""
        masks = []
        for p, shape in ((self.recurrent_dropout, (h0.size(0), self.hidden_size)), (self.state_dropout, h0.shape)):
            masks.append(h0.new_empty(shape).bernoulli_(1 - p).div_(1 - p) if p and self.training else None)
        return masks

    def length_groups(self, lengths: torch.Tensor) -> int:
        """How many length groups a ragged LSTM batch is split into (see ``_native_grouped``).

        Each group is padded only to its own longest sequence; a split is taken when it saves at least
        ``GROUP_SAVING`` of the padded work and leaves every group at least ``MIN_GROUP`` sequences.
        """
        if self.max_length_groups <= 1 or lengths.numel() < 2 * MIN_GROUP:
            return 1
        sorted_lengths = lengths.sort().values.tolist()
        full = len(sorted_lengths) * sorted_lengths[-1]
        best, best_cost = 1, full
        for g in range(2, self.max_length_groups + 1):
            size = -(-len(sorted_lengths) // g)
            if size < MIN_GROUP:
                break
            cost = sum(len(chunk) * chunk[-1] for chunk in
                       (sorted_lengths[i : i + size] for i in range(0, len(sorted_lengths), size)))
            if cost < best_cost * (1 - GROUP_SAVING):
                best, best_cost = g, cost
        return best

    def _native_grouped(self, x, h0, c0, lengths, fused: bool):
        """A ragged LSTM batch as a few sub-batches of similar length, each cut to its own longest sequence
        and run through every layer on the fused kernel; outputs and states scattered back in place."""
        groups = self.length_groups(lengths)
        order = lengths.argsort()
        size = -(-order.numel() // groups)
        out = x.new_zeros(x.size(0), x.size(1), (self.proj_size or self.hidden_size) * self.num_directions)
        h_n, c_n = torch.empty_like(h0), torch.empty_like(c0)
        for start in range(0, order.numel(), size):
            idx = order[start : start + size]
            sub_lengths = lengths[idx]
            width = int(sub_lengths.max())
            sub = x.index_select(0, idx)[:, :width]
            sub_h0, sub_c0 = h0.index_select(1, idx), c0.index_select(1, idx)
            if fused and bool((sub_lengths == width).all()):
                o, h, c = self._native_all_layers(sub, sub_h0, sub_c0)
            else:
                o, (h, c) = self._run_layers(sub, sub_h0, sub_c0, sub_lengths)
            out[idx, :width] = o
            h_n[:, idx], c_n[:, idx] = h, c
        return out, h_n, c_n

    def _native_packed(self, x, h0, lengths):
        """GRU / RNN with variable lengths: torch's fused kernel over the packed data (no oneDNN path exists for
        them, so doing only the real steps is fastest); exact by construction."""
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        weights = [w for i in range(len(self._weight_names)) for w in self._weights(i)]
        hx = h0.index_select(1, packed.sorted_indices)
        data, h_n = getattr(torch._VF, self.mode)(packed.data, packed.batch_sizes, hx, weights, self.bias,
                                                  self.num_layers, self.dropout, self.training, self.bidirectional)
        out, _ = pad_packed_sequence(PackedSequence(data, packed.batch_sizes, packed.sorted_indices,
                                                    packed.unsorted_indices), batch_first=True, total_length=x.size(1))
        return out, h_n.index_select(1, packed.unsorted_indices)

    def _run_layers(self, x, h0, c0, lengths):
        """Layer by layer, direction by direction on the fused kernel, padding frozen by the extra feature."""
        lstm = self.mode == "lstm"
        h_list, c_list = [], []
        for layer in range(self.num_layers):
            if layer:
                x = self._dropout(x, self.dropout, self.locked_dropout)
            outs = []
            for d in range(self.num_directions):
                i = layer * self.num_directions + d
                o, h, c = self._native_direction(i, x, h0[i], c0[i] if lstm else None, lengths, reverse=bool(d))
                outs.append(o)
                h_list.append(h)
                c_list.append(c)
            x = torch.cat(outs, -1) if len(outs) > 1 else outs[0]
        h_n = torch.stack(h_list)
        return x, ((h_n, torch.stack(c_list)) if lstm else h_n)

    def _native_all_layers(self, x, h0, c0):
        """Every layer and direction in one fused kernel call (all sequences of full length)."""
        weights = [w for i in range(len(self._weight_names)) for w in self._weights(i)]
        args = (weights, self.bias, self.num_layers, self.dropout, self.training, self.bidirectional, True)
        if self.mode == "lstm":
            out, h_n, c_n = torch._VF.lstm(x, (h0, c0), *args)
            return out, h_n, c_n
        out, h_n = getattr(torch._VF, self.mode)(x, h0, *args)
        return out, h_n, None

    def _native_direction(self, index, x, h0, c0, lengths, reverse):
        """One layer, one direction through the fused kernel; padding frozen by the extra input feature."""
        weights = self._weights(index)
        if lengths is not None:
            if reverse:
                x = reverse_padded(x, lengths)
            T, H = x.size(1), self.hidden_size
            pad = (torch.arange(T, device=x.device)[None, :] >= lengths[:, None]).to(x.dtype)  # [B, T]
            x = torch.cat([x, pad.unsqueeze(-1)], -1)
            column = x.new_zeros(weights[0].size(0), 1)
            if self.mode == "lstm":
                column[:H] = -FREEZE  # input gate → 0
                column[H : 2 * H] = FREEZE  # forget gate → 1
            elif self.mode == "gru":
                column[H : 2 * H] = FREEZE  # update gate → 1
            weights[0] = torch.cat([weights[0], column], 1)
        elif reverse:
            x = x.flip(1)
        args = (weights, self.bias, 1, 0.0, self.training, False, True)
        if self.mode == "lstm":
            out, h_n, c_n = torch._VF.lstm(x, (h0[None], c0[None]), *args)
            c_n = c_n[0]
        else:
            out, h_n = getattr(torch._VF, self.mode)(x, h0[None], *args)
            c_n = None
        h_n = h_n[0]
        if lengths is not None:
            if self.mode != "gru":
                h_n = last_step(out, lengths)  # LSTM h and RNN h are not frozen: take the last real step
            out = out * (torch.arange(out.size(1), device=x.device)[None, :] < lengths[:, None]).unsqueeze(-1).to(out.dtype)
            if reverse:
                out = reverse_padded(out, lengths)
        elif reverse:
            out = out.flip(1)
        return out, h_n, c_n

    def _autograd_direction(self, index, data, h, c, sizes):
        """One layer, one direction as a Python time loop over the cell equations, through autograd, on packed
        rows: the input projection of every step is one matrix product, ``split`` per step (its backward is one
        concatenation; slicing per step would make autograd zero-fill a full-size gradient at every step); the
        n_t sequences still going are a prefix of the sorted batch, and a state is kept when its sequence ends."""
        weights = self._weights(index)
        w_ih, w_hh = weights[0], weights[1]
        b_ih, b_hh = (weights[2], weights[3]) if self.bias else (None, None)
        w_hr = weights[-1] if self.proj_size else None
        ln = self.norms[index] if self.norms is not None else None
        cand, state = self._cell_masks(h)
        gi = F.linear(data, w_ih, b_ih)  # [N, G·H]
        if self.mode == "lstm" and ln is None and b_hh is not None:
            gi, b_hh = gi + b_hh, None  # fold the recurrent bias in once, not at every step
        outs, done_h, done_c = [], [], []
        for n, g_t in zip(sizes, gi.split(sizes)):
            if n < h.size(0):  # sequences n.. ended at the previous step: keep their final state
                done_h.append(h[n:])
                h = h[:n]
                if c is not None:
                    done_c.append(c[n:])
                    c = c[:n]
                cand, state = (m[:n] if m is not None else None for m in (cand, state))
            h, c = self._step(g_t, h, c, w_hh, b_hh, w_hr, ln, cand, state)
            outs.append(h)
        h_n = torch.cat([h, *reversed(done_h)])
        c_n = torch.cat([c, *reversed(done_c)]) if c is not None else None
        return torch.cat(outs), h_n, c_n

    def _step(self, g_t, h, c, w_hh, b_hh, w_hr, ln, cand, state):
        if self.mode == "lstm":
            return lstm_step(g_t, h, c, w_hh, b_hh, w_hr, ln, cand, state)
        if self.mode == "gru":
            return gru_step(g_t, h, w_hh, b_hh, self.reset_after, ln, cand, state), None
        return rnn_step(g_t, h, w_hh, b_hh, self.mode == "rnn_relu", ln, state), None

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"
        for name in ("bidirectional", "proj_size", "dropout", "weight_drop", "input_dropout", "output_dropout",
                     "recurrent_dropout", "state_dropout", "layer_norm"):
            value = getattr(self, name)
            if value:
                s += f", {name}={value}"
        if self.mode == "gru" and not self.reset_after:
            s += ", reset_after=False"
        return s + f", path={self.path}"


class LSTM(RecurrentLayer):
    """LSTM layer; see the module docstring and :mod:`seqlab.layers.cells` for the equations."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, **kwargs):
        kwargs.pop("reset_after", None)
        super().__init__("lstm", input_size, hidden_size, num_layers, **kwargs)


class GRU(RecurrentLayer):
    """GRU layer; ``reset_after=True`` (default) is torch.nn's form, ``False`` Cho et al.'s."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, **kwargs):
        super().__init__("gru", input_size, hidden_size, num_layers, **kwargs)


class RNN(RecurrentLayer):
    """Elman RNN layer, ``nonlinearity`` tanh (default) or relu."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh", **kwargs):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be tanh or relu, got {nonlinearity!r}")
        super().__init__(f"rnn_{nonlinearity}", input_size, hidden_size, num_layers, **kwargs)
