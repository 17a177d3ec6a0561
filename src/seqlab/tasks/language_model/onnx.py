"""The recurrent language model as an ONNX graph: ``model.onnx`` runs one step of T ≥ 1 tokens with the state in
and out (ids [B, T], h0 [, c0] [L, B, H] [, condition [B]] → logits [B, T, V], h_n [, c_n]); an adaptive softmax
gives its exact log-probabilities; sampling runs in numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ...onnx_graph import Graph, _dense, _np, _recurrent


def _language_model(g: Graph, model: torch.nn.Module) -> tuple[str, str, str | None]:
    """One step (T ≥ 1 tokens) with the state in and out: ids [B, T], h0 (, c0) [layers, B, H] (, condition [B])
    → logits [B, T, V], h_n (, c_n)."""
    x = g.op("Gather", [g.const("embedding", _np(model.embedding.weight)), "ids"])  # [B, T, E]
    if model.condition is not None:
        c = g.op("Unsqueeze", [g.op("Gather", [g.const("condition_embedding", _np(model.condition.weight)), "condition"]),
                               g.const("c_axis1", np.array([1], np.int64))])  # [B, 1, Cd]
        B_T = g.op("Shape", [x], end=2)
        shape = g.op("Concat", [B_T, g.const("c_dim", np.array([model.cfg.condition_dim], np.int64))], axis=0)
        x = g.op("Concat", [x, g.op("Expand", [c, shape])], axis=2)
    lstm = model.rnn.mode == "lstm"
    out, _, hs, cs = _recurrent(g, model.rnn, g.op("Transpose", [x], perm=[1, 0, 2]), "", "rnn", "h0", "c0" if lstm else None)
    out = g.op("Transpose", [out], perm=[1, 0, 2])  # [B, T, H]
    if model.projection is not None:
        out = _dense(g, out, model.projection, "projection")
    logits = _dense(g, out, model.decoder, "decoder") if model.adaptive is None else _adaptive(g, out, model.adaptive)
    h_n = g.op("Concat", hs, axis=0) if len(hs) > 1 else g.op("Identity", hs)
    c_n = (g.op("Concat", cs, axis=0) if len(cs) > 1 else g.op("Identity", cs)) if lstm else None
    return logits, h_n, c_n


def _adaptive(g: Graph, x: str, layer: torch.nn.Module) -> str:
    """``AdaptiveSoftmax.log_prob``: the head's log-softmax, each cluster's log-softmax plus its head entry,
    concatenated over the vocabulary."""
    head = g.op("MatMul", [x, g.const("adaptive.head.wT", _np(layer.head_weight()).T.copy())])
    if layer.head_bias is not None:
        head = g.op("Add", [head, g.const("adaptive.head.bias", _np(layer.head_bias))])
    head = g.op("LogSoftmax", [head], axis=-1)
    axis = g.const("adaptive.axis", np.array([-1], np.int64))

    def cut(name: str, a: int, b: int) -> str:
        return g.op("Slice", [head, g.const(f"{name}.a", np.array([a], np.int64)),
                              g.const(f"{name}.b", np.array([b], np.int64)), axis])

    parts = [cut("adaptive.words", 0, layer.shortlist)]
    for i, tail in enumerate(layer.tails):
        y = g.op("MatMul", [x, g.const(f"adaptive.tail{i}.0.wT", _np(tail[0].weight).T.copy())])
        y = g.op("MatMul", [y, g.const(f"adaptive.tail{i}.1.wT", _np(tail[1].weight).T.copy())])
        k = layer.shortlist + i
        parts.append(g.op("Add", [g.op("LogSoftmax", [y], axis=-1), cut(f"adaptive.cluster{i}", k, k + 1)]))
    return g.op("Concat", parts, axis=-1) if len(parts) > 1 else parts[0]


def graph(model: torch.nn.Module, name: str = "rnn_lm") -> Any:
    """The ModelProto of language model ``model`` (one step with its state)."""
    if name != "rnn_lm":
        raise ValueError(f"ONNX export: model {name!r} is not an exportable language model (exportable: rnn_lm)")
    g = Graph()
    helper, TP = g.helper, g.TensorProto
    model = model.eval()
    L, H = model.rnn.num_layers, model.rnn.hidden_size
    inputs = [helper.make_tensor_value_info("ids", TP.INT64, ["batch", "time"]),
              helper.make_tensor_value_info("h0", TP.FLOAT, [L, "batch", H])]
    if model.rnn.mode == "lstm":
        inputs.append(helper.make_tensor_value_info("c0", TP.FLOAT, [L, "batch", H]))
    if model.condition is not None:
        inputs.append(helper.make_tensor_value_info("condition", TP.INT64, ["batch"]))
    logits, h_n, c_n = _language_model(g, model)
    g.nodes.append(helper.make_node("Identity", [logits], ["logits"]))
    g.nodes.append(helper.make_node("Identity", [h_n], ["h_n"]))
    outputs = [helper.make_tensor_value_info("logits", TP.FLOAT, ["batch", "time", model.cfg.vocab_size]),
               helper.make_tensor_value_info("h_n", TP.FLOAT, [L, "batch", H])]
    if c_n is not None:
        g.nodes.append(helper.make_node("Identity", [c_n], ["c_n"]))
        outputs.append(helper.make_tensor_value_info("c_n", TP.FLOAT, [L, "batch", H]))
    return g.finish(f"seqlab_{name}", inputs, outputs)
