"""The BiLSTM(-CRF) tagger as an ONNX graph: ``model.onnx``: ids [B, T], lengths [B], chars [B, T, W],
char_lengths [B, T] (int64) → emissions [B, T, tags]. Word embedding ⊕ character features (CharCNN: Conv + max
over real characters; CharLSTM: a BiLSTM over each word's characters, its own ``sequence_lens``) → LSTM/GRU →
emissions; the CRF's transitions go into export.json and Viterbi runs in numpy (``seqlab.search``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ...onnx_graph import Graph, _dense, _np, _recurrent


def _char_features(g: Graph, chars_module: torch.nn.Module, chars: str, char_lengths: str, ids: str) -> str:
    """Per-word character features [B, T, F] from chars [B, T, W] (CharCNN: conv width 3 + max over real
    characters; CharLSTM: a BiLSTM's final states with sequence_lens)."""
    shape = g.op("Shape", [chars])
    W = g.op("Slice", [shape, g.const("s2", np.array([2], np.int64)), g.const("s3", np.array([3], np.int64))])
    flat = g.op("Reshape", [chars, g.op("Concat", [g.const("minus1", np.array([-1], np.int64)), W], axis=0)])  # [N, W]
    lens = g.op("Reshape", [char_lengths, g.const("minus1b", np.array([-1], np.int64))])  # [N]
    lens = g.op("Max", [lens, g.const("one_c", np.array(1, np.int64))])
    emb = g.op("Gather", [g.const("char_embedding", _np(chars_module.embedding.weight)), flat])  # [N, W, d]
    if hasattr(chars_module, "conv"):
        conv = chars_module.conv
        c = g.op("Conv", [g.op("Transpose", [emb], perm=[0, 2, 1]), g.const("char_conv.weight", _np(conv.weight)),
                          g.const("char_conv.bias", _np(conv.bias))], pads=[1, 1])  # [N, F, W]
        Wn = g.op("Gather", [g.op("Shape", [c]), g.const("two_c", np.array(2, np.int64))])
        positions = g.op("Range", [g.const("zero_c", np.array(0, np.int64)), Wn, g.const("step_c", np.array(1, np.int64))])
        valid = g.op("Less", [g.op("Unsqueeze", [positions, g.const("c_a0", np.array([0], np.int64))]),
                              g.op("Unsqueeze", [lens, g.const("c_a1", np.array([1], np.int64))])])  # [N, W]
        valid = g.op("Unsqueeze", [valid, g.const("c_a1b", np.array([1], np.int64))])
        c = g.op("Where", [valid, c, g.const("c_ninf", np.array(-np.inf, np.float32))])
        per_word = g.op("ReduceMax", [c], axes=[2], keepdims=0)  # [N, F]
    else:
        x = g.op("Transpose", [emb], perm=[1, 0, 2])  # [W, N, d]
        _, h_n, _, _ = _recurrent(g, chars_module.rnn, x, g.op("Cast", [lens], to=g.TensorProto.INT32), "char_rnn")
        per_word = g.op("Reshape", [g.op("Transpose", [h_n], perm=[1, 0, 2]),
                                    g.const("c_shape", np.array([0, 2 * chars_module.rnn.hidden_size], np.int64))])
    BT = g.op("Shape", [ids])  # [B, T]
    return g.op("Reshape", [per_word, g.op("Concat", [BT, g.const("minus1c", np.array([-1], np.int64))], axis=0)])


def _tagger(g: Graph, model: torch.nn.Module, ids: str, lengths: str, chars: str, char_lengths: str) -> str:
    if len(model.features):
        raise ValueError("ONNX export: a tagger that reads extra CoNLL columns (data.feature_columns) is not exportable")
    x = g.op("Gather", [g.const("embedding", _np(model.embedding.weight)), ids])  # [B, T, E]
    if model.chars is not None:
        x = g.op("Concat", [x, _char_features(g, model.chars, chars, char_lengths, ids)], axis=2)
    clamped = g.op("Max", [lengths, g.const("len_floor", np.array(1, np.int64))])
    out, _, _, _ = _recurrent(g, model.rnn, g.op("Transpose", [x], perm=[1, 0, 2]),
                              g.op("Cast", [clamped], to=g.TensorProto.INT32), "rnn")
    out = g.op("Transpose", [out], perm=[1, 0, 2])  # [B, T, D]
    return _dense(g, out, model.emissions, "emissions")


def graph(model: torch.nn.Module, name: str = "tagger") -> Any:
    """The ModelProto of tagger ``model``."""
    g = Graph()
    helper, TP = g.helper, g.TensorProto
    model = model.eval()
    inputs = [helper.make_tensor_value_info("ids", TP.INT64, ["batch", "time"]),
              helper.make_tensor_value_info("lengths", TP.INT64, ["batch"]),
              helper.make_tensor_value_info("chars", TP.INT64, ["batch", "time", "word"]),
              helper.make_tensor_value_info("char_lengths", TP.INT64, ["batch", "time"])]
    emissions = _tagger(g, model, "ids", "lengths", "chars", "char_lengths")
    g.nodes.append(helper.make_node("Identity", [emissions], ["emissions"]))
    outputs = [helper.make_tensor_value_info("emissions", TP.FLOAT, ["batch", "time", "tags"])]
    return g.finish(f"seqlab_{name}", inputs, outputs)
