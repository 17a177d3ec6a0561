"""seqlab's recurrent layers against torch.nn, live, in float64 on fresh random weights and inputs:
outputs, final states and every gradient within 1e-6, over layers × directions × batch_first × lengths ×
padded-or-packed × path."""

import itertools

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqlab.layers.recurrent import GRU, LSTM, RNN, reverse_padded

MODES = {
    "lstm": (LSTM, nn.LSTM, {}),
    "gru": (GRU, nn.GRU, {}),
    "rnn_tanh": (RNN, nn.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (RNN, nn.RNN, {"nonlinearity": "relu"}),
}
I, H, B, T = 5, 7, 4, 6


def make_pair(mode, layers, bidirectional, batch_first, path, seed, proj=0):
    ours_cls, ref_cls, extra = MODES[mode]
    kwargs = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, **extra)
    if proj:
        kwargs["proj_size"] = proj
    torch.manual_seed(seed)
    ref = ref_cls(I, H, **kwargs).double()
    ours = ours_cls(I, H, path=path, **kwargs).double()
    ours.load_state_dict(ref.state_dict())  # torch.nn's state_dict loads into seqlab's layer…
    ref.load_state_dict(ours.state_dict())  # …and back
    return ours, ref


def states(s):
    return list(s) if isinstance(s, tuple) else [s]


def grads(module, x):
    return [x.grad] + [p.grad for p in module.parameters()]


CASES = list(itertools.product(MODES, [1, 2], [False, True], [False, True], ["equal", "unequal"], ["padded", "packed"],
                               ["native", "equation", "autograd"]))


@pytest.mark.parametrize("mode,layers,bidirectional,batch_first,lengths_kind,input_kind,path", CASES)
def test_matches_torch_nn(mode, layers, bidirectional, batch_first, lengths_kind, input_kind, path):
    seed = hash((mode, layers, bidirectional, batch_first, lengths_kind, input_kind, path)) % 10_000
    ours, ref = make_pair(mode, layers, bidirectional, batch_first, path, seed)
    g = torch.Generator().manual_seed(seed + 1)
    lengths = torch.full((B,), T) if lengths_kind == "equal" else torch.tensor([T, 2, 5, 1])
    x = torch.randn(B, T, I, generator=g, dtype=torch.float64)
    x = x * (torch.arange(T)[None, :] < lengths[:, None]).unsqueeze(-1)  # padding holds zeros
    dirs = 2 if bidirectional else 1
    h0 = torch.randn(layers * dirs, B, H, generator=g, dtype=torch.float64)
    hx = (h0, torch.randn(layers * dirs, B, H, generator=g, dtype=torch.float64)) if mode == "lstm" else h0
    upstream = torch.randn(B, T, H * dirs, generator=g, dtype=torch.float64)
    state_up = [torch.randn_like(s) for s in states(hx)]

    def to_layout(t):
        return t if batch_first else t.transpose(0, 1)

    # reference: torch.nn on a PackedSequence (exact semantics for unequal lengths)
    x_ref = x.clone().requires_grad_(True)
    packed = pack_padded_sequence(to_layout(x_ref), lengths, batch_first=batch_first, enforce_sorted=False)
    out_p, s_ref = ref(packed, hx)
    out_ref, _ = pad_packed_sequence(out_p, batch_first=batch_first, total_length=T)
    loss = (to_layout(out_ref) * upstream).sum() + sum((s * u).sum() for s, u in zip(states(s_ref), state_up))
    loss.backward()

    x_ours = x.clone().requires_grad_(True)
    if input_kind == "packed":
        packed = pack_padded_sequence(to_layout(x_ours), lengths, batch_first=batch_first, enforce_sorted=False)
        out_p, s_ours = ours(packed, hx)
        assert torch.equal(out_p.batch_sizes, packed.batch_sizes)
        out_ours, _ = pad_packed_sequence(out_p, batch_first=batch_first, total_length=T)
    else:
        out_ours, s_ours = ours(to_layout(x_ours), hx, lengths=lengths)
    loss = (to_layout(out_ours) * upstream).sum() + sum((s * u).sum() for s, u in zip(states(s_ours), state_up))
    loss.backward()

    torch.testing.assert_close(out_ours, out_ref, atol=1e-6, rtol=0)
    for a, b in zip(states(s_ours), states(s_ref)):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    for a, b in zip(grads(ours, x_ours), grads(ref, x_ref)):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


@pytest.mark.parametrize("path", ["native", "equation"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_projection_matches(path, bidirectional):
    ours, ref = make_pair("lstm", 2, bidirectional, True, path, 3, proj=3)
    x = torch.randn(B, T, I, dtype=torch.float64)
    lengths = torch.tensor([T, 3, 1, 4])
    x = x * (torch.arange(T)[None, :] < lengths[:, None]).unsqueeze(-1)
    out_p, (h, c) = ref(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    out_ref, _ = pad_packed_sequence(out_p, batch_first=True, total_length=T)
    out, (h2, c2) = ours(x, lengths=lengths)
    torch.testing.assert_close(out, out_ref, atol=1e-6, rtol=0)
    torch.testing.assert_close(h2, h, atol=1e-6, rtol=0)
    torch.testing.assert_close(c2, c, atol=1e-6, rtol=0)


@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_float32_native_variable_lengths_close(mode):
    """The oneDNN float32 kernel with the padding-freeze feature agrees with torch.nn's packed result."""
    ours, ref = make_pair(mode, 2, True, True, "native", 11)
    ours, ref = ours.float(), ref.float()
    x = torch.randn(8, 20, I)
    lengths = torch.randint(1, 21, (8,))
    out_p, s_ref = ref(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    out_ref, _ = pad_packed_sequence(out_p, batch_first=True, total_length=20)
    out, s = ours(x, lengths=lengths)
    torch.testing.assert_close(out, out_ref, atol=1e-5, rtol=1e-5)
    for a, b in zip(states(s), states(s_ref)):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh"])
def test_float32_hand_derived_bptt_close(mode):
    """The equation path in float32, whose matrix products go to oneDNN where available: outputs, states and
    gradients agree with torch.nn's packed result to float32 accuracy."""
    ours, ref = make_pair(mode, 2, True, True, "equation", 12)
    ours, ref = ours.float(), ref.float()
    g = torch.Generator().manual_seed(3)
    x = torch.randn(8, 20, I, generator=g, requires_grad=True)
    lengths = torch.randint(1, 21, (8,), generator=g)
    out_p, s_ref = ref(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    out_ref, _ = pad_packed_sequence(out_p, batch_first=True, total_length=20)
    g_ref = torch.autograd.grad(out_ref.sum() + sum(s.sum() for s in states(s_ref)), [x, *ref.parameters()])
    out, s = ours(x, lengths=lengths)
    g_ours = torch.autograd.grad(out.sum() + sum(t.sum() for t in states(s)), [x, *ours.parameters()])
    torch.testing.assert_close(out, out_ref, atol=1e-5, rtol=1e-5)
    for a, b in zip(states(s), states(s_ref)):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_bptt_linear_equals_torch_linear():
    """The matrix product the hand-derived backward uses (oneDNN for float32 on CPU when available), with
    transposed operands as the weight gradients pass them."""
    from seqlab.layers.bptt import linear, weight_grad

    g = torch.Generator().manual_seed(0)
    x, w, b = torch.randn(37, 19, generator=g), torch.randn(23, 19, generator=g), torch.randn(23, generator=g)
    torch.testing.assert_close(linear(x, w, b), x @ w.T + b, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(linear(x, w.T.contiguous().T), x @ w.T, atol=1e-5, rtol=1e-5)
    delta = torch.randn(37, 23, generator=g)
    torch.testing.assert_close(weight_grad(delta, x), delta.T @ x, atol=1e-4, rtol=1e-5)


def test_reverse_padded_is_an_involution():
    x = torch.randn(3, 5, 2)
    lengths = torch.tensor([5, 2, 3])
    r = reverse_padded(x, lengths)
    assert torch.equal(r[1, :2], x[1, :2].flip(0)) and torch.equal(r[1, 2:], x[1, 2:])
    assert torch.equal(reverse_padded(r, lengths), x)


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("path", ["native", "equation"])
def test_ragged_batch_strategies_match_packed(mode, bidirectional, path):
    """A larger ragged batch takes the length-group split (LSTM) or the packed kernel (GRU, RNN), or the packed
    schedule of the hand-derived BPTT: still exact."""
    ours, ref = make_pair(mode, 2, bidirectional, True, path, 21)
    g = torch.Generator().manual_seed(5)
    lengths = torch.randint(1, 31, (40,), generator=g)
    lengths[0] = 30
    x = torch.randn(40, 30, I, generator=g, dtype=torch.float64, requires_grad=True)
    if mode == "lstm" and path == "native":
        assert ours.length_groups(lengths) > 1
    out_p, s_ref = ref(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    out_ref, _ = pad_packed_sequence(out_p, batch_first=True, total_length=30)
    g_ref = torch.autograd.grad(out_ref.sum() + sum(s.sum() for s in states(s_ref)), [x, *ref.parameters()])
    out, s = ours(x, lengths=lengths)
    g_ours = torch.autograd.grad(out.sum() + sum(t.sum() for t in states(s)), [x, *ours.parameters()])
    torch.testing.assert_close(out, out_ref, atol=1e-6, rtol=0)
    for a, b in zip(states(s), states(s_ref)):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
