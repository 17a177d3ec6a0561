"""Cells and the variants torch.nn lacks: gradcheck in float64, the reset-before GRU against a direct
transcription of its equation, and the dropout variants tested statistically."""

import pytest
import torch

from seqlab.layers import cells, recurrent
from seqlab.layers.cells import GRUCell, LSTMCell, RNNCell
from seqlab.layers.recurrent import GRU, LSTM, RNN, locked_dropout_mask

torch.set_default_dtype(torch.float32)


def f64(module):
    return module.double()


@pytest.mark.parametrize("make", [
    lambda: LSTMCell(3, 4), lambda: LSTMCell(3, 4, layer_norm=True), lambda: LSTMCell(3, 4, forget_bias=1.0),
    lambda: GRUCell(3, 4), lambda: GRUCell(3, 4, reset_after=False), lambda: GRUCell(3, 4, layer_norm=True),
    lambda: RNNCell(3, 4), lambda: RNNCell(3, 4, nonlinearity="relu"), lambda: RNNCell(3, 4, bias=False),
], ids=["lstm", "lstm-ln", "lstm-fb", "gru", "gru-before", "gru-ln", "rnn", "rnn-relu", "rnn-nobias"])
def test_cells_gradcheck(make):
    cell = f64(make())
    x = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    if isinstance(cell, LSTMCell):
        c = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(lambda x, h, c, *p: cell(x, (h, c)), (x, h, c, *cell.parameters()))
    else:
        assert torch.autograd.gradcheck(lambda x, h, *p: cell(x, h), (x, h, *cell.parameters()))


LAYER_VARIANTS = {
    "lstm-native-lengths": lambda: LSTM(3, 4, 2, bidirectional=True, batch_first=True, path="native"),
    "gru-native-lengths": lambda: GRU(3, 4, 1, bidirectional=True, batch_first=True, path="native"),
    "lstm-proj": lambda: LSTM(3, 4, 1, proj_size=2, batch_first=True, path="equation"),
    "lstm-layernorm": lambda: LSTM(3, 4, 2, layer_norm=True, bidirectional=True, batch_first=True),
    "gru-reset-before": lambda: GRU(3, 4, 1, reset_after=False, bidirectional=True, batch_first=True),
    "lstm-recurrent-dropout": lambda: LSTM(3, 4, 1, recurrent_dropout=0.3, batch_first=True),
    "lstm-weight-drop-native": lambda: LSTM(3, 4, 1, weight_drop=0.4, batch_first=True),
    "lstm-locked-dropout": lambda: LSTM(3, 4, 2, dropout=0.3, locked_dropout=True, input_dropout=0.2,
                                        output_dropout=0.2, batch_first=True),
    "rnn-relu-equation": lambda: RNN(3, 4, 1, nonlinearity="relu", batch_first=True, path="equation"),
}


@pytest.mark.parametrize("name", sorted(LAYER_VARIANTS))
def test_layer_variants_gradcheck(name):
    layer = f64(LAYER_VARIANTS[name]()).train()
    x = torch.randn(3, 5, 3, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([5, 2, 4])

    def run(x, *params):
        torch.manual_seed(0)  # the same dropout masks on every evaluation
        out, state = layer(x, lengths=lengths)
        return out, *(state if isinstance(state, tuple) else (state,))

    assert torch.autograd.gradcheck(run, (x, *layer.parameters()), atol=1e-6)


def test_reset_before_gru_equals_its_equation():
    """h' = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn), transcribed directly in float64."""
    torch.manual_seed(4)
    layer = f64(GRU(3, 5, 1, reset_after=False, batch_first=True))
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    out, h_n = layer(x)
    W, U, b, bu = layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0
    Wr, Wz, Wn = W.chunk(3)
    Ur, Uz, Un = U.chunk(3)
    br, bz, bn = b.chunk(3)
    cr, cz, cn = bu.chunk(3)
    h = torch.zeros(2, 5, dtype=torch.float64)
    for t in range(6):
        xt = x[:, t]
        r = torch.sigmoid(xt @ Wr.T + br + h @ Ur.T + cr)
        z = torch.sigmoid(xt @ Wz.T + bz + h @ Uz.T + cz)
        n = torch.tanh(xt @ Wn.T + bn + (r * h) @ Un.T + cn)
        h = (1 - z) * n + z * h
        torch.testing.assert_close(out[:, t], h, atol=1e-12, rtol=0)
    torch.testing.assert_close(h_n[0], h, atol=1e-12, rtol=0)
    # and it is a different function from the reset-after form with the same weights
    after = f64(GRU(3, 5, 1, batch_first=True))
    after.load_state_dict(layer.state_dict())
    assert not torch.allclose(after(x)[0], out)


def identity_rnn(layers: int = 1, **kwargs) -> RNN:
    """ReLU RNN with W_ih = I, W_hh = 0, no bias: h_t = relu(x_t), so the output shows the dropout masks."""
    layer = RNN(6, 6, layers, nonlinearity="relu", bias=False, batch_first=True, **kwargs)
    with torch.no_grad():
        for name, p in layer.named_parameters():
            p.copy_(torch.eye(6) if name.startswith("weight_ih") else torch.zeros_like(p))
    return layer


@pytest.mark.parametrize("path", ["native", "equation", "autograd"])
@pytest.mark.parametrize("where", ["input_dropout", "output_dropout"])
def test_locked_dropout_one_mask_per_sequence(path, where):
    p = 0.3
    torch.manual_seed(1)
    layer = identity_rnn(path=path, **{where: p}).train()
    x = torch.ones(2000, 8, 6)  # 12,000 mask values: the tolerance below is about 5 standard deviations
    out, _ = layer(x)
    assert torch.unique(out).tolist() == pytest.approx([0.0, 1 / (1 - p)])
    assert torch.equal(out, out[:, :1].expand_as(out))  # the same mask at every time step
    assert abs((out == 0).float().mean().item() - p) < 0.02
    layer.eval()
    assert torch.equal(layer(x)[0], x)


@pytest.mark.parametrize("path", ["native", "equation", "autograd"])
def test_locked_dropout_between_layers(path):
    layer = identity_rnn(2, dropout=0.5, locked_dropout=True, path=path).train()
    out, _ = layer(torch.ones(400, 7, 6))
    assert torch.equal(out, out[:, :1].expand_as(out))
    assert torch.unique(out).tolist() == pytest.approx([0.0, 2.0])
    plain = identity_rnn(2, dropout=0.5).train()  # torch.nn's dropout: a new mask at every step
    out, _ = plain(torch.ones(400, 7, 6))
    assert not torch.equal(out, out[:, :1].expand_as(out))


def test_locked_mask_values():
    m = locked_dropout_mask(torch.zeros(1000, 3, 8), 0.25)
    assert m.shape == (1000, 1, 8)
    assert torch.unique(m).tolist() == pytest.approx([0.0, 1 / 0.75])
    assert abs((m == 0).float().mean().item() - 0.25) < 0.02


@pytest.mark.parametrize("path", ["native", "equation", "autograd"])
def test_weight_drop_reaches_raw_weights(path):
    torch.manual_seed(0)
    layer = LSTM(4, 32, 1, weight_drop=0.5, batch_first=True, path=path).train()
    x = torch.randn(8, 10, 4)
    out, _ = layer(x)
    out.sum().backward()
    g = layer.weight_hh_l0.grad
    zero = (g == 0).float().mean().item()
    assert 0.4 < zero < 0.6  # dropped connections get no gradient, the rest do
    assert layer.weight_ih_l0.grad.abs().sum() > 0
    layer.eval()  # no DropConnect at evaluation: deterministic
    assert torch.equal(layer(x)[0], layer(x)[0])


def test_recurrent_dropout_one_mask_over_time(monkeypatch):
    seen = []
    original = cells.lstm_step

    def spy(gi, h, c, w_hh, b_hh, w_hr=None, ln=None, drop=None, state_drop=None):
        seen.append(drop)
        return original(gi, h, c, w_hh, b_hh, w_hr, ln, drop, state_drop)

    monkeypatch.setattr(recurrent, "lstm_step", spy)
    layer = LSTM(3, 16, 1, recurrent_dropout=0.4, batch_first=True, path="autograd").train()
    layer(torch.randn(50, 6, 3))
    assert len(seen) == 6 and all(d is seen[0] for d in seen)
    assert torch.unique(seen[0]).tolist() == pytest.approx([0.0, 1 / 0.6])
    seen.clear()
    layer.eval()
    layer(torch.randn(50, 6, 3))
    assert all(d is None for d in seen)


def test_forget_bias_and_paths():
    layer = LSTM(3, 4, forget_bias=1.0)
    fb = layer.bias_hh_l0[4:8]
    assert (fb > 0.4).all()  # U(-0.5, 0.5) + 1
    x = torch.zeros(1, 2, 3)
    assert LSTM(3, 4).route(x) == "native" and LSTM(3, 4, layer_norm=True).route(x) == "autograd"
    assert GRU(3, 4, reset_after=False).route(x) == "bptt"
    assert LSTM(3, 4, path="equation").route(x) == "bptt"
    assert LSTM(3, 4, proj_size=2, path="equation").route(x) == "autograd"
    assert GRU(3, 4, path="autograd").route(x) == "autograd"
    assert GRU(3, 4, path="native").route(x) == "native"
    from seqlab.layers.bptt import onednn_matmul_available

    fast = "bptt" if onednn_matmul_available() else "native"
    assert GRU(3, 4).route(x) == fast and GRU(3, 4).route(x[:, :1]) == "native"  # one step: torch's kernel
    assert RNN(3, 4).route(torch.zeros(1, 3, 3)) == "native" and RNN(3, 4).route(torch.zeros(1, 4, 3)) == fast
    assert GRU(3, 4, reset_after=False).route(x[:, :1]) == "bptt"  # only the equations express it
    with pytest.raises(ValueError, match="path must be one of"):
        GRU(3, 4, path="fast")
    with pytest.raises(ValueError, match="need path='equation'"):
        GRU(3, 4, reset_after=False, path="native")


def test_gradient_diagnostic_matches_autograd_on_the_layer():
    """‖∂L/∂h_t‖ from the step-by-step diagnostic equals autograd through the layer's own outputs."""
    from seqlab.evaluation.diagnostics import gradient_norms

    torch.manual_seed(0)
    layer = LSTM(3, 5, batch_first=True, path="equation").double()
    x = torch.randn(2, 7, 3, dtype=torch.float64)
    report = gradient_norms(layer, x)
    # h_T's gradient is h_T / B for L = ½ mean_b ‖h_T‖²
    out, _ = layer(x)
    assert report["grad_norm"][-1] == pytest.approx(float((out[:, -1] / 2).norm(dim=1).mean().detach()), rel=1e-9)
    # ∏ f over an empty range is 1 at the last step
    assert report["forget_product"][-1] == pytest.approx(1.0)
    assert all(0 < p <= 1 for p in report["forget_product"])


BPTT_VS_AUTOGRAD = {
    "lstm": lambda **kw: LSTM(3, 4, 2, recurrent_dropout=0.3, **kw),
    "gru": lambda **kw: GRU(3, 4, 2, recurrent_dropout=0.3, **kw),
    "gru-reset-before": lambda **kw: GRU(3, 4, 2, reset_after=False, recurrent_dropout=0.3, **kw),
    "rnn-tanh": lambda **kw: RNN(3, 4, 2, **kw),
    "rnn-relu": lambda **kw: RNN(3, 4, 2, nonlinearity="relu", **kw),
}
STATE_DROPOUT = {"": {}, "-state-dropout": {"state_dropout": 0.35}}


@pytest.mark.parametrize("name", sorted(BPTT_VS_AUTOGRAD))
@pytest.mark.parametrize("lengths", [None, [5, 2, 4, 1]])
@pytest.mark.parametrize("state", sorted(STATE_DROPOUT))
def test_hand_derived_bptt_equals_autograd_with_every_regulariser(name, lengths, state):
    """The hand-written backward (path="equation") against autograd through the cell equations
    (path="autograd"), float64, training mode, with the same dropout masks drawn from the same seed: recurrent
    dropout, weight drop, locked dropout on the input, between the layers and on the output."""
    kw = dict(bidirectional=True, batch_first=True, weight_drop=0.3, dropout=0.4, locked_dropout=True,
              input_dropout=0.2, output_dropout=0.2, **STATE_DROPOUT[state])
    torch.manual_seed(7)
    bptt = f64(BPTT_VS_AUTOGRAD[name](path="equation", **kw)).train()
    loop = f64(BPTT_VS_AUTOGRAD[name](path="autograd", **kw)).train()
    loop.load_state_dict(bptt.state_dict())
    x = torch.randn(4, 5, 3, dtype=torch.float64)
    lens = torch.tensor(lengths) if lengths else None
    up = torch.randn(4, 5, 8, dtype=torch.float64)
    results = []
    for layer in (bptt, loop):
        layer.zero_grad()
        torch.manual_seed(11)
        out, state = layer(x, lengths=lens)
        state = list(state) if isinstance(state, tuple) else [state]
        loss = (out * up).sum() + sum((s * s).sum() for s in state)
        loss.backward()
        results.append([out, *state] + [p.grad for p in layer.parameters()])
    assert bool((results[0][0] == 0).any())  # the masks were drawn
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


def _bptt_cases():
    from seqlab.layers.bptt import GRUSequence, LSTMSequence, RNNSequence

    def w(g, k):
        return torch.randn(g * 3, k, dtype=torch.float64, requires_grad=True)

    def b(g):
        return torch.randn(g * 3, dtype=torch.float64, requires_grad=True)

    mask = (torch.rand(3, 3, dtype=torch.float64) > 0.3).double() / 0.7
    state = (torch.rand(3, 3, dtype=torch.float64) > 0.4).double() / 0.6
    return {
        "rnn-tanh": (RNNSequence, [w(1, 2), w(1, 3), b(1), b(1)], (False, None), False),
        "rnn-relu-state": (RNNSequence, [w(1, 2), w(1, 3), b(1), b(1)], (True, state), False),
        "gru-after": (GRUSequence, [w(3, 2), w(3, 3), b(3), b(3)], (True, None, None), False),
        "gru-after-masks": (GRUSequence, [w(3, 2), w(3, 3), b(3), b(3)], (True, mask, state), False),
        "gru-before": (GRUSequence, [w(3, 2), w(3, 3), b(3), b(3)], (False, None, None), False),
        "gru-before-masks-nobias": (GRUSequence, [w(3, 2), w(3, 3), None, None], (False, mask, state), False),
        "lstm": (LSTMSequence, [w(4, 2), w(4, 3), b(4), b(4)], (None, None), True),
        "lstm-masks-nobias": (LSTMSequence, [w(4, 2), w(4, 3), None, None], (mask, state), True),
    }


@pytest.mark.parametrize("name", ["rnn-tanh", "rnn-relu-state", "gru-after", "gru-after-masks", "gru-before",
                                  "gru-before-masks-nobias", "lstm", "lstm-masks-nobias"])
def test_hand_derived_bptt_gradcheck(name):
    """Each hand-written backward against finite differences, float64, on a ragged packed schedule (lengths
    4, 2, 1: sequences end at different steps) and on a full one."""
    torch.manual_seed(5)
    fn, weights, options, lstm = _bptt_cases()[name]
    for sizes in ([3, 2, 1, 1], [3, 3, 3]):
        x = torch.randn(sum(sizes), 2, dtype=torch.float64, requires_grad=True)
        states = [torch.randn(3, 3, dtype=torch.float64, requires_grad=True) for _ in range(2 if lstm else 1)]

        def run(x, *args):
            return fn.apply(x, *args, sizes, *options)

        assert torch.autograd.gradcheck(run, (x, *states, *weights))


def test_second_derivatives_name_the_autograd_path():
    """The hand-derived backward is first order: create_graph=True says so; path="autograd" differentiates twice."""
    x = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    bptt = f64(GRU(3, 4, batch_first=True, path="equation"))
    with pytest.raises(RuntimeError, match="path='autograd'"):
        torch.autograd.grad(bptt(x)[0].sum(), x, create_graph=True)
    loop = f64(GRU(3, 4, batch_first=True, path="autograd"))
    loop.load_state_dict(bptt.state_dict())
    assert torch.autograd.gradgradcheck(lambda x: loop(x)[0], (x,))


@pytest.mark.parametrize("path", ["equation", "autograd"])
def test_state_dropout_equals_its_equation(path):
    """state_dropout (Gal & Ghahramani 2016, Keras's recurrent_dropout): the recurrent products read h_{t−1} ⊙ m
    with one mask m per sequence for every step, while the interpolation z ⊙ h_{t−1} keeps the undropped state.
    Checked in float64 against a direct transcription, with the mask redrawn from the same seed."""
    p, B, T, H = 0.4, 6, 7, 5
    layer = f64(GRU(3, H, 1, batch_first=True, state_dropout=p, path=path)).train()
    x = torch.randn(B, T, 3, dtype=torch.float64)
    torch.manual_seed(3)
    out, h_n = layer(x)
    torch.manual_seed(3)
    m = torch.empty(B, H, dtype=torch.float64).bernoulli_(1 - p) / (1 - p)
    assert torch.unique(m).tolist() == pytest.approx([0.0, 1 / (1 - p)])
    W, U, b, bu = layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0
    h = torch.zeros(B, H, dtype=torch.float64)
    for t in range(T):
        gi, gh = x[:, t] @ W.T + b, (h * m) @ U.T + bu
        r = torch.sigmoid(gi[:, :H] + gh[:, :H])
        z = torch.sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
        n = torch.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
        h = (1 - z) * n + z * h
        torch.testing.assert_close(out[:, t], h, atol=1e-12, rtol=0)
    layer.eval()  # no mask at evaluation: the plain GRU
    plain = f64(GRU(3, H, 1, batch_first=True))
    plain.load_state_dict(layer.state_dict())
    torch.testing.assert_close(layer(x)[0], plain(x)[0], atol=1e-12, rtol=0)
