"""The recurrent layers on hostile input: padding holding NaN, inf or huge values never reaches the state (the
packed-sequence result of torch.nn, live), and bad shapes, lengths or dtypes give torch.nn's check or better."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqlab.layers import GRU, LSTM, RNN

CELLS = {"lstm": (LSTM, torch.nn.LSTM), "gru": (GRU, torch.nn.GRU), "rnn": (RNN, torch.nn.RNN)}


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("path", ["auto", "native", "equation", "autograd"])
@pytest.mark.parametrize("padding", [float("nan"), float("inf"), 1e5, -1e5])
def test_padding_never_reaches_the_state(cell, path, padding):
    ours_cls, ref_cls = CELLS[cell]
    torch.manual_seed(0)
    ours = ours_cls(5, 7, num_layers=2, bidirectional=True, batch_first=True, path=path).double().eval()
    ref = ref_cls(5, 7, num_layers=2, bidirectional=True, batch_first=True).double().eval()
    ref.load_state_dict(ours.state_dict())
    lengths = torch.tensor([6, 2, 4, 1])
    x = torch.randn(4, 6, 5, dtype=torch.float64)
    for b, n in enumerate(lengths.tolist()):
        x[b, n:] = padding
    out, state = ours(x, lengths=lengths)
    clean = x.clone()
    for b, n in enumerate(lengths.tolist()):
        clean[b, n:] = 0.0
    packed_out, ref_state = ref(pack_padded_sequence(clean, lengths, batch_first=True, enforce_sorted=False))
    ref_out, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=6)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, ref_out)
    for a, b in zip(state if isinstance(state, tuple) else (state,), ref_state if isinstance(ref_state, tuple) else (ref_state,)):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("path", ["native", "equation", "autograd"])
def test_bad_lengths_and_shapes(cell, path):
    layer = CELLS[cell][0](3, 4, batch_first=True, path=path)
    x = torch.randn(2, 5, 3)
    with pytest.raises(ValueError, match="sequence 1 has length 0"):
        layer(x, lengths=torch.tensor([5, 0]))
    with pytest.raises(ValueError, match="sequence 0 has length 6"):
        layer(x, lengths=torch.tensor([6, 2]))
    with pytest.raises(ValueError, match="one length per sequence"):
        layer(x, lengths=torch.tensor([5, 2, 1]))
    with pytest.raises(ValueError, match="0 time steps"):
        layer(torch.randn(2, 0, 3))
    with pytest.raises(ValueError, match="has 4 features, the layer expects 3"):
        layer(torch.randn(2, 5, 4))
    with pytest.raises(ValueError, match="3-D input"):
        layer(torch.randn(5, 3))
    with pytest.raises(ValueError, match=r"input is torch.bfloat16 but the layer's weights are torch.float32"):
        layer(x.bfloat16())
