"""The classifiers as ONNX graphs, operator by operator from the model's own weights (no tracing), variable lengths
exact: ``model.onnx``: ids [B, T] int64, lengths [B] int64 → logits [B, C], probabilities [B, C].

* the recurrent classifier: x = Gather(embedding, ids) → [T, B, E]; per layer LSTM / GRU / RNN with
  ``sequence_lens`` (``seqlab.onnx_graph.recurrent``); pooling over real positions (last, mean, max, attention,
  concat) → linear;
* TextCNN: embedding (masked) → Conv (one per width, padded to the longest width) → ReLU → max over valid
  positions → linear;
* the bag-of-words models (TF-IDF, LSA): counts by ScatterElements, idf, l2 norm, projection, linear.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ...onnx_graph import Graph, _dense, _mask, _np, _recurrent


def _recurrent_classifier(g: Graph, model: torch.nn.Module, ids: str, lengths: str) -> str:
    enc = model.encoder
    clamped = g.op("Max", [lengths, g.const("len_floor", np.array(1, np.int64))])
    lengths32 = g.op("Cast", [clamped], to=g.TensorProto.INT32)
    emb = g.op("Gather", [g.const("embedding", _np(enc.embedding.weight)), ids])  # [B, T, E]
    x = g.op("Transpose", [emb], perm=[1, 0, 2])  # [T, B, E]
    out, h_n, _, _ = _recurrent(g, enc.rnn, x, lengths32, "rnn")
    out = g.op("Transpose", [out], perm=[1, 0, 2])  # [B, T, D]
    D = enc.output_size
    mask = _mask(g, ids, lengths)
    mask3 = g.op("Unsqueeze", [mask, g.const("axis2", np.array([2], np.int64))])  # [B, T, 1]
    def last() -> str:
        return g.op("Reshape", [g.op("Transpose", [h_n], perm=[1, 0, 2]), g.const("last_shape", np.array([0, D], np.int64))])

    def mean() -> str:
        m = g.op("Cast", [mask3], to=g.TensorProto.FLOAT)
        total = g.op("ReduceSum", [g.op("Mul", [out, m]), g.const("axes1", np.array([1], np.int64))], keepdims=0)
        count = g.op("ReduceSum", [m, g.const("axes1b", np.array([1], np.int64))], keepdims=0)
        return g.op("Div", [total, g.op("Max", [count, g.const("one_f", np.array(1.0, np.float32))])])

    def maximum() -> str:
        filled = g.op("Where", [mask3, out, g.const("neg_inf", np.array(-np.inf, np.float32))])
        return g.op("ReduceMax", [filled], axes=[1], keepdims=0)

    if model.pooling == "last":
        pooled = last()
    elif model.pooling == "mean":
        pooled = mean()
    elif model.pooling == "max":
        pooled = maximum()
    elif model.pooling == "concat":  # [last; max; mean]
        pooled = g.op("Concat", [last(), maximum(), mean()], axis=1)
    else:  # attention: softmax_t(vᵀ tanh(W x_t)) over real positions
        att = model.attention
        hidden = g.op("Tanh", [_dense(g, out, att.proj, "att.proj")])
        scores = g.op("Squeeze", [_dense(g, hidden, att.score, "att.score"), g.const("axes2", np.array([2], np.int64))])  # [B, T]
        scores = g.op("Where", [mask, scores, g.const("neg_inf_s", np.array(-np.inf, np.float32))])
        weights = g.op("Softmax", [scores], axis=1)
        pooled = g.op("Squeeze", [g.op("MatMul", [g.op("Unsqueeze", [weights, g.const("axis1w", np.array([1], np.int64))]), out]),
                                  g.const("axes1s", np.array([1], np.int64))])
    return _dense(g, pooled, model.head, "head")


def _textcnn(g: Graph, model: torch.nn.Module, ids: str, lengths: str) -> str:
    mask = _mask(g, ids, lengths)
    x = g.op("Gather", [g.const("embedding", _np(model.embedding.weight)), ids])  # [B, T, E]
    if model.static_embedding is not None:
        x = g.op("Concat", [x, g.op("Gather", [g.const("static_embedding", _np(model.static_embedding.weight)), ids])], axis=2)
    x = g.op("Where", [g.op("Unsqueeze", [mask, g.const("axis2", np.array([2], np.int64))]), x,
                       g.const("zero_f", np.array(0.0, np.float32))])
    x = g.op("Transpose", [x], perm=[0, 2, 1])  # [B, E, T]
    conv = model.conv
    longest = max(conv.widths)
    # pad on the right to at least the longest width: T' = max(T, longest)
    T = g.op("Gather", [g.op("Shape", [x]), g.const("two_index", np.array(2, np.int64))])
    extra = g.op("Max", [g.op("Sub", [g.const("longest", np.array(longest, np.int64)), T]), g.const("zero_i", np.array(0, np.int64))])
    pads = g.op("Concat", [g.const("pads_head", np.array([0, 0, 0, 0, 0], np.int64)),
                           g.op("Unsqueeze", [extra, g.const("axis0p", np.array([0], np.int64))])], axis=0)
    x = g.op("Pad", [x, pads])
    clamped = g.op("Max", [lengths, g.const("one_l", np.array(1, np.int64))])
    pooled = []
    for k, (w, layer) in enumerate(zip(conv.widths, conv.convs)):
        c = g.op("Relu", [g.op("Conv", [x, g.const(f"conv{k}.weight", _np(layer.weight)), g.const(f"conv{k}.bias", _np(layer.bias))])])
        n = g.op("Gather", [g.op("Shape", [c]), g.const(f"two_index{k}", np.array(2, np.int64))])
        starts = g.op("Range", [g.const(f"zero{k}", np.array(0, np.int64)), n, g.const(f"step{k}", np.array(1, np.int64))])
        limit = g.op("Max", [g.op("Sub", [clamped, g.const(f"w{k}", np.array(w - 1, np.int64))]), g.const(f"one{k}", np.array(1, np.int64))])
        valid = g.op("Less", [g.op("Unsqueeze", [starts, g.const(f"a0{k}", np.array([0], np.int64))]),
                              g.op("Unsqueeze", [limit, g.const(f"a1{k}", np.array([1], np.int64))])])  # [B, n]
        valid = g.op("Unsqueeze", [valid, g.const(f"a1v{k}", np.array([1], np.int64))])  # [B, 1, n]
        filled = g.op("Where", [valid, c, g.const(f"ninf{k}", np.array(-np.inf, np.float32))])
        pooled.append(g.op("ReduceMax", [filled], axes=[2], keepdims=0))
    features = g.op("Concat", pooled, axis=1)
    return _dense(g, features, model.head, "head")


def _bag_of_words(g: Graph, model: torch.nn.Module, ids: str, lengths: str) -> str:
    """Counts by ScatterElements(add) over real positions (specials have idf 0), optional 1 + ln tf,
    · idf, l2-normalised, the optional LSA projection, then the logistic regression."""
    mask = g.op("Cast", [_mask(g, ids, lengths)], to=g.TensorProto.FLOAT)
    # a length-0 text counts nothing, as in torch (the mask's max(length, 1) is for the recurrent layers)
    mask = g.op("Mul", [mask, g.op("Cast", [g.op("Unsqueeze", [g.op("Greater", [lengths, g.const("bow_zero", np.array(0, np.int64))]),
                                                                 g.const("bow_axis1", np.array([1], np.int64))])], to=g.TensorProto.FLOAT)])
    V = model.idf.numel()
    B = g.op("Slice", [g.op("Shape", [ids]), g.const("bow_s0", np.array([0], np.int64)), g.const("bow_s1", np.array([1], np.int64))])
    zeros = g.op("ConstantOfShape", [g.op("Concat", [B, g.const("bow_V", np.array([V], np.int64))], axis=0)],
                 value=g.helper.make_tensor("bow_fill", g.TensorProto.FLOAT, [1], [0.0]))
    counts = g.op("ScatterElements", [zeros, ids, mask], axis=1, reduction="add")
    if model.cfg.sublinear_tf:
        one = g.const("bow_one", np.array(1.0, np.float32))
        logged = g.op("Add", [one, g.op("Log", [g.op("Max", [counts, one])])])
        counts = g.op("Where", [g.op("Greater", [counts, g.const("bow_zero_f", np.array(0.0, np.float32))]), logged, counts])
    x = g.op("Mul", [counts, g.const("idf", _np(model.idf))])
    norm = g.op("Max", [g.op("ReduceL2", [x], axes=[1], keepdims=1), g.const("bow_eps", np.array(1e-12, np.float32))])
    x = g.op("Div", [x, norm])
    if model.lsa is not None:
        x = g.op("MatMul", [x, g.const("lsa_T", _np(model.lsa).T.copy())])
    return _dense(g, x, model.head, "head")


BUILDERS = {"rnn_classifier": _recurrent_classifier, "textcnn": _textcnn, "bow": _bag_of_words}


def graph(model: torch.nn.Module, name: str) -> Any:
    """The ModelProto of classifier ``model`` (``name``: its registry name)."""
    if name not in BUILDERS:
        raise ValueError(f"ONNX export: model {name!r} is not an exportable classifier (exportable: {', '.join(BUILDERS)})")
    g = Graph()
    helper, TP = g.helper, g.TensorProto
    model = model.eval()
    inputs = [helper.make_tensor_value_info("ids", TP.INT64, ["batch", "time"]),
              helper.make_tensor_value_info("lengths", TP.INT64, ["batch"])]
    logits = BUILDERS[name](g, model, "ids", "lengths")
    g.nodes.append(helper.make_node("Identity", [logits], ["logits"]))
    g.nodes.append(helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1))
    outputs = [helper.make_tensor_value_info("logits", TP.FLOAT, ["batch", "classes"]),
               helper.make_tensor_value_info("probabilities", TP.FLOAT, ["batch", "classes"])]
    return g.finish(f"seqlab_{name}", inputs, outputs)
