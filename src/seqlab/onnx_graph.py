"""What every ONNX graph seqlab writes shares: a small node builder (``Graph``, with ``finish``: build and check
once), torch's recurrent layers as ONNX's LSTM / GRU / RNN operators (gate order, biases, ``sequence_lens``), the
padding mask and a dense layer. Each task family's graph (``tasks/<family>/onnx.py``) is written with these; a leaf
module, so that a family's graph never imports upward."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from . import __version__

OPSET = 17
EXPORT_JSON = "export.json"  # an export directory's description (``seqlab.export.onnx``)
ONNX_FILE = "model.onnx"  # a one-graph family's graph file


def _onnx():
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        raise ValueError("ONNX export needs onnx: pip install 'seqlab[onnx]'") from None
    return onnx, TensorProto, helper, numpy_helper


class Graph:
    """A small builder: named initializers and nodes, unique output names."""

    def __init__(self):
        self.onnx, self.TensorProto, self.helper, self.numpy_helper = _onnx()
        self.nodes: list = []
        self.initializers: list = []
        self.count = 0

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(self.numpy_helper.from_array(np.array(value, copy=True, order="C"), name))
        return name

    def op(self, kind: str, inputs: list[str], outputs: int = 1, **attrs: Any) -> list[str] | str:
        self.count += 1
        names = [f"{kind.lower()}_{self.count}_{i}" for i in range(outputs)]
        self.nodes.append(self.helper.make_node(kind, inputs, names, **attrs))
        return names if outputs > 1 else names[0]

    def finish(self, name: str, inputs: list, outputs: list) -> Any:
        """The checked ModelProto of the nodes so far (opset ``OPSET``, IR version at most 8: readable by
        onnxruntime releases from 2022 on)."""
        graph = self.helper.make_graph(self.nodes, name, inputs, outputs, self.initializers)
        proto = self.helper.make_model(graph, opset_imports=[self.helper.make_opsetid("", OPSET)],
                                       producer_name="seqlab", producer_version=__version__)
        proto.ir_version = min(proto.ir_version, 8)
        self.onnx.checker.check_model(proto)
        return proto


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy()


def _gates(w: np.ndarray, mode: str) -> np.ndarray:
    """Reorder torch's gate blocks (first axis) into ONNX's."""
    if mode == "lstm":
        i, f, g, o = np.split(w, 4, axis=0)
        return np.concatenate([i, o, f, g], axis=0)
    if mode == "gru":
        r, z, n = np.split(w, 3, axis=0)
        return np.concatenate([z, r, n], axis=0)
    return w


def _recurrent(g: Graph, rnn: torch.nn.Module, x: str, lengths32: str, prefix: str,
               h0: str | None = None, c0: str | None = None) -> tuple[str, str, list[str], list[str]]:
    """All layers of a seqlab recurrent layer over x [T, B, In], from initial states h0 / c0 [layers · dirs, B, H]
    when given: (outputs [T, B, D], the last layer's final hidden [dirs, B, H], every layer's final hidden and
    (LSTM) cell states, each [dirs, B, H]). ``lengths32`` may be "" (every row full length)."""
    mode = "rnn" if rnn.mode.startswith("rnn") else rnn.mode
    if rnn.layer_norm or rnn.proj_size:
        raise ValueError("ONNX export: layer_norm and proj_size have no ONNX recurrent operator")
    dirs = 2 if rnn.bidirectional else 1
    H = rnn.hidden_size
    kind = {"lstm": "LSTM", "gru": "GRU"}.get(mode, "RNN")
    attrs: dict[str, Any] = {"hidden_size": H, "direction": "bidirectional" if dirs == 2 else "forward"}
    if kind == "GRU":  # torch's GRU applies the reset gate after the recurrent product; Cho et al.'s before
        attrs["linear_before_reset"] = 1 if rnn.reset_after else 0
    if kind == "RNN":
        attrs["activations"] = ["Relu" if rnn.mode == "rnn_relu" else "Tanh"] * dirs
    params = dict(rnn.named_parameters())
    hs, cs = [], []
    for layer in range(rnn.num_layers):
        W, R, B = [], [], []
        for d in range(dirs):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            W.append(_gates(_np(params[f"weight_ih{sfx}"]), mode))
            R.append(_gates(_np(params[f"weight_hh{sfx}"]), mode))
            bi = params.get(f"bias_ih{sfx}")
            bh = params.get(f"bias_hh{sfx}")
            gates = W[-1].shape[0]
            bi = _gates(_np(bi), mode) if bi is not None else np.zeros(gates, np.float32)
            bh = _gates(_np(bh), mode) if bh is not None else np.zeros(gates, np.float32)
            B.append(np.concatenate([bi, bh]))
        names = [g.const(f"{prefix}.l{layer}.{k}", np.stack(v)) for k, v in (("W", W), ("R", R), ("B", B))]
        inputs = [x, *names, lengths32]
        if h0 is not None:
            rows = [g.const(f"{prefix}.l{layer}.from", np.array([layer * dirs], np.int64)),
                    g.const(f"{prefix}.l{layer}.to", np.array([(layer + 1) * dirs], np.int64)),
                    g.const(f"{prefix}.l{layer}.axis", np.array([0], np.int64))]
            inputs.append(g.op("Slice", [h0, *rows]))
            if kind == "LSTM":
                inputs.append(g.op("Slice", [c0, *rows]))
        while inputs[-1] == "":
            inputs.pop()
        outs = g.op(kind, inputs, outputs=3 if kind == "LSTM" else 2, **attrs)
        y = outs[0]  # Y [T, dirs, B, H]; Y_h (and Y_c) [dirs, B, H]
        hs.append(outs[1])
        if kind == "LSTM":
            cs.append(outs[2])
        y = g.op("Transpose", [y], perm=[0, 2, 1, 3])  # [T, B, dirs, H]
        x = g.op("Reshape", [y, g.const(f"{prefix}.l{layer}.shape", np.array([0, 0, dirs * H], np.int64))])
    return x, hs[-1], hs, cs


def _mask(g: Graph, ids: str, lengths: str) -> str:
    """[B, T] bool: position < max(length, 1)."""
    T = g.op("Gather", [g.op("Shape", [ids]), g.const("one_index", np.array(1, np.int64))])
    positions = g.op("Range", [g.const("zero", np.array(0, np.int64)), T, g.const("step", np.array(1, np.int64))])
    clamped = g.op("Max", [lengths, g.const("one", np.array(1, np.int64))])
    return g.op("Less", [g.op("Unsqueeze", [positions, g.const("axis0", np.array([0], np.int64))]),
                         g.op("Unsqueeze", [clamped, g.const("axis1", np.array([1], np.int64))])])


def _dense(g: Graph, x: str, layer: torch.nn.Linear, name: str) -> str:
    """``layer`` applied to the last axis of x (any rank)."""
    y = g.op("MatMul", [x, g.const(f"{name}.wT", _np(layer.weight).T.copy())])
    return g.op("Add", [y, g.const(f"{name}.bias", _np(layer.bias))]) if layer.bias is not None else y
