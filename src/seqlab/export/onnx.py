"""``seqlab export DIR --format onnx``: a classifier as an ONNX graph that keeps variable lengths exact.

torch's exporter cannot export ``pack_padded_sequence`` (pytorch/pytorch#62240), but ONNX's LSTM, GRU and RNN
operators take each sequence's length (``sequence_lens``) natively: outputs past a sequence's end are zero and
the backward direction starts at its last real token. So the graph is written here, operator by operator,
from the model's own weights (no tracing):

    ids [B, T] int64, lengths [B] int64
    x = Gather(embedding, ids) → [T, B, E]
    per layer: LSTM / GRU / RNN (direction forward or bidirectional, sequence_lens = lengths)
      torch's gate order → ONNX's: LSTM i f g o → i o f c; GRU r z n → z r h (linear_before_reset = 1, torch's
      GRU); the two biases stacked as [W_b, R_b]
    pooling over real positions (last, mean, max, attention, concat) → linear → logits [B, C], probabilities [B, C]

TextCNN: embedding (masked) → Conv (one per width, padded to the longest width) → ReLU → max over valid
positions → linear. The BiLSTM(-CRF) tagger: word embedding ⊕ character features (CharCNN: Conv + max over
real characters; CharLSTM: a BiLSTM over each word's characters, its own ``sequence_lens``) → LSTM/GRU →
emissions [B, T, tags]; the CRF's transitions go into export.json and Viterbi runs in numpy
(``seqlab.search``). The recurrent language model: one step of T ≥ 1 tokens with the state in and out
(ids, h0 [, c0] [, condition] → logits [B, T, V], h_n [, c_n]); sampling runs in numpy. The recurrent
seq2seq model: ``encoder.onnx`` (src, lengths → keys, projected, mask, the bridged initial state; reversed
sources by ReverseSequence) and ``decoder.onnx`` (one step: token and state → logits, next state, attention
weights), every attention kind and input feeding; beam search runs in numpy. The bag-of-words models
(TF-IDF, LSA) as counts by ScatterElements, idf, l2 norm, projection, linear. The Transformer seq2seq model:
``encoder.onnx`` (mask and each decoder layer's projected memory) and ``decoder.onnx`` (one token with the
key/value cache in and out, LayerNormalization and the attention as explicit masked products).

The exported directory is self-describing and JSON-only beside the graph: ``model.onnx``, ``export.json``
(task, model name, tokenizer, vocabulary, labels, the recipe's data section, the seqlab version). ``--int8``
applies onnxruntime's dynamic quantisation (weights int8, activations quantised on the fly) to the matrix
products, LSTMs and convolutions; embeddings stay float32.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from ..manifest import manifest
from ..tasks import load_task
from .graph import Graph, _dense, _mask, _np, _onnx, _recurrent

EXPORT_JSON = "export.json"
ONNX_FILE = "model.onnx"


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


def _seq2seq_encoder(g: Graph, model: torch.nn.Module) -> dict[str, str]:
    """src [B, S], lengths [B] → keys, (projected,) mask, h0 (, c0): ``Seq2Seq.encode``'s state."""
    cfg = model.cfg
    clamped = g.op("Max", ["lengths", g.const("len_floor", np.array(1, np.int64))])
    src = g.op("Transpose", ["src"], perm=[1, 0])  # [S, B]
    if cfg.reverse_source:  # each source reversed within its length (Sutskever et al.)
        src = g.op("ReverseSequence", [src, clamped], batch_axis=1, time_axis=0)
    x = g.op("Gather", [g.const("src_embedding", _np(model.src_embedding.weight)), src])  # [S, B, E]
    lengths32 = g.op("Cast", [clamped], to=g.TensorProto.INT32)
    out, _, hs, cs = _recurrent(g, model.encoder, x, lengths32, "encoder")
    out = g.op("Transpose", [out], perm=[1, 0, 2])  # [B, S, D]
    D = model.encoder.hidden_size * (2 if cfg.bidirectional else 1)

    def bridge(states: list[str], layer: torch.nn.Linear, name: str) -> str:
        per_layer = [g.op("Unsqueeze", [g.op("Reshape", [g.op("Transpose", [h], perm=[1, 0, 2]),
                                                          g.const(f"{name}.shape{i}", np.array([0, D], np.int64))]),
                                        g.const(f"{name}.axis{i}", np.array([0], np.int64))]) for i, h in enumerate(states)]
        stacked = g.op("Concat", per_layer, axis=0) if len(per_layer) > 1 else per_layer[0]  # [L, B, D]
        return g.op("Tanh", [_dense(g, stacked, layer, name)])

    state = {"keys": _dense(g, out, model.key_projection, "key_projection") if model.key_projection is not None else out,
             "mask": _mask(g, "src", "lengths"), "h0": bridge(hs, model.bridge, "bridge")}
    if cs:
        state["c0"] = bridge(cs, model.bridge_cell, "bridge_cell")
    att = model.attention
    if att is not None and att.kind == "bahdanau":
        state["projected"] = _dense(g, state["keys"], att.U, "att.U")
    elif att is not None and att.kind == "general":
        state["projected"] = _dense(g, state["keys"], att.W, "att.W")
    return state


def _attend(g: Graph, att: torch.nn.Module, query: str, keys: str, mask: str, projected: str | None) -> tuple[str, str]:
    """(context [B, K], weights [B, S]) of ``seqlab.layers.attention.Attention`` for query [B, Q]."""
    q3 = g.op("Unsqueeze", [query, g.const("att.q_axis", np.array([2], np.int64))]) if att.kind in ("dot", "general") else None
    if att.kind == "dot":
        scores = g.op("MatMul", [keys, q3])
    elif att.kind == "general":
        scores = g.op("MatMul", [projected, q3])
    else:
        q1 = g.op("Unsqueeze", [query, g.const("att.q_axis1", np.array([1], np.int64))])  # [B, 1, Q]
        if att.kind == "bahdanau":
            hidden = g.op("Tanh", [g.op("Add", [_dense(g, q1, att.W, "att.W"), projected])])
        else:  # concat: W [s; h_j] + b
            S = g.op("Shape", [keys], start=1, end=2)
            expand = g.op("Concat", [g.const("att.one", np.array([1], np.int64)), S, g.const("att.one_b", np.array([1], np.int64))], axis=0)
            expanded = g.op("Tile", [q1, expand])
            hidden = g.op("Tanh", [_dense(g, g.op("Concat", [expanded, keys], axis=2), att.W, "att.Wc")])
        scores = g.op("MatMul", [hidden, g.const("att.vT", _np(att.v.weight).T.copy())])
    scores = g.op("Squeeze", [scores, g.const("att.s_axis", np.array([2], np.int64))])  # [B, S]
    scores = g.op("Where", [mask, scores, g.const("att.ninf", np.array(-np.inf, np.float32))])
    weights = g.op("Softmax", [scores], axis=1)
    context = g.op("Squeeze", [g.op("MatMul", [g.op("Unsqueeze", [weights, g.const("att.w_axis", np.array([1], np.int64))]), keys]),
                               g.const("att.c_axis", np.array([1], np.int64))])
    return context, weights


def _seq2seq_decoder_step(g: Graph, model: torch.nn.Module) -> dict[str, str]:
    """token [B] and the state → logits [B, V] and the next state (``Seq2Seq.decode_step``)."""
    cfg = model.cfg
    emb = g.op("Gather", [g.const("tgt_embedding", _np(model.tgt_embedding.weight)), "token"])  # [B, E]
    lstm = model.decoder.mode == "lstm"
    projected = "projected" if model.attention is not None and model.attention.kind in ("bahdanau", "general") else None
    out: dict[str, str] = {}
    L = cfg.num_layers
    top = lambda h: g.op("Squeeze", [g.op("Slice", [h, g.const(f"top.from{h}", np.array([L - 1], np.int64)),  # noqa: E731
                                                    g.const(f"top.to{h}", np.array([L], np.int64)),
                                                    g.const(f"top.axis{h}", np.array([0], np.int64))]),
                                      g.const(f"top.sq{h}", np.array([0], np.int64))])
    if cfg.attention == "bahdanau":
        context, weights = _attend(g, model.attention, top("h0"), "keys", "mask", projected)
        rnn_in = g.op("Concat", [emb, context], axis=1)
    elif cfg.input_feeding:
        rnn_in = g.op("Concat", [emb, "feed"], axis=1)
    else:
        rnn_in = emb
    x = g.op("Unsqueeze", [rnn_in, g.const("dec.t_axis", np.array([0], np.int64))])  # [1, B, In]
    y, _, hs, cs = _recurrent(g, model.decoder, x, "", "decoder", "h0", "c0" if lstm else None)
    s = g.op("Squeeze", [y, g.const("dec.y_axis", np.array([0], np.int64))])  # [B, H]
    if cfg.attention == "bahdanau":
        h = g.op("Tanh", [_dense(g, g.op("Concat", [s, context, emb], axis=1), model.combine, "combine")])
    elif model.luong:
        context, weights = _attend(g, model.attention, s, "keys", "mask", projected)
        h = g.op("Tanh", [_dense(g, g.op("Concat", [context, s], axis=1), model.combine, "combine")])
        if cfg.input_feeding:
            out["feed_n"] = h
    else:
        h = s
    out["logits"] = _dense(g, h, model.out, "out")
    out["h_n"] = g.op("Concat", hs, axis=0) if len(hs) > 1 else hs[0]
    if lstm:
        out["c_n"] = g.op("Concat", cs, axis=0) if len(cs) > 1 else cs[0]
    if model.attention is not None:
        out["weights"] = weights
    return out


def build_seq2seq(model: torch.nn.Module) -> tuple[Any, Any]:
    """(encoder, decoder step) ModelProtos of a recurrent seq2seq model; their names say how they connect:
    the encoder's outputs keys, (projected,) mask, h0 (, c0) are the step's inputs of the same names, and the
    step's h_n (, c_n, feed_n) feed the next step's h0 (, c0, feed)."""
    model = model.eval()
    cfg = model.cfg
    if cfg.name != "seq2seq":
        raise ValueError(f"ONNX export: model {cfg.name!r} is not exportable yet (the recurrent seq2seq is)")
    H, L = cfg.hidden_size, cfg.num_layers
    protos = []
    for part in ("encoder", "decoder"):
        g = Graph()
        helper, TP = g.helper, g.TensorProto
        if part == "encoder":
            inputs = [helper.make_tensor_value_info("src", TP.INT64, ["batch", "source"]),
                      helper.make_tensor_value_info("lengths", TP.INT64, ["batch"])]
            named = _seq2seq_encoder(g, model)
        else:
            K = H if model.luong else H * (2 if cfg.bidirectional else 1)
            inputs = [helper.make_tensor_value_info("token", TP.INT64, ["batch"]),
                      helper.make_tensor_value_info("keys", TP.FLOAT, ["batch", "source", K]),
                      helper.make_tensor_value_info("mask", TP.BOOL, ["batch", "source"]),
                      helper.make_tensor_value_info("h0", TP.FLOAT, [L, "batch", H])]
            if model.decoder.mode == "lstm":
                inputs.append(helper.make_tensor_value_info("c0", TP.FLOAT, [L, "batch", H]))
            if model.attention is not None and model.attention.kind in ("bahdanau", "general"):
                inputs.append(helper.make_tensor_value_info("projected", TP.FLOAT, ["batch", "source", "attention"]))
            if cfg.input_feeding:
                inputs.append(helper.make_tensor_value_info("feed", TP.FLOAT, ["batch", H]))
            named = _seq2seq_decoder_step(g, model)
        outputs = []
        for name, value in named.items():
            g.nodes.append(helper.make_node("Identity", [value], [name]))
            kind = TP.BOOL if name == "mask" else TP.FLOAT
            rank = 2 if name in ("mask", "logits", "feed_n", "weights") else 3
            outputs.append(helper.make_tensor_value_info(name, kind, [f"{name}_{i}" for i in range(rank)]))
        protos.append(g.finish(f"seqlab_seq2seq_{part}", inputs, outputs))
    return tuple(protos)


class _TransformerGraph:
    """The Transformer seq2seq model (``models.transformer``) as ONNX nodes: LayerNormalization, multi-head
    attention as explicit matrix products with masks, feed-forward; pre- or post-norm as the model is."""

    def __init__(self, g: Graph, model: torch.nn.Module):
        self.g, self.model, self.cfg = g, model, model.cfg
        self.h, self.d = model.cfg.heads, model.cfg.d_model
        self.dk = self.d // self.h
        self.n = 0

    def name(self, what: str) -> str:
        self.n += 1
        return f"tf{self.n}.{what}"

    def const(self, value) -> str:
        return self.g.const(self.name("c"), value)

    def norm(self, x: str, layer: torch.nn.LayerNorm) -> str:
        return self.g.op("LayerNormalization", [x, self.const(_np(layer.weight)), self.const(_np(layer.bias))],
                         axis=-1, epsilon=layer.eps)

    def heads(self, x: str) -> str:  # [B, T, d] → [B, h, T, d_k]
        return self.g.op("Transpose", [self.g.op("Reshape", [x, self.const(np.array([0, 0, self.h, self.dk], np.int64))])],
                         perm=[0, 2, 1, 3])

    def project(self, mha: torch.nn.Module, x: str) -> tuple[str, str]:
        return self.heads(_dense(self.g, x, mha.k, self.name("k"))), self.heads(_dense(self.g, x, mha.v, self.name("v")))

    def attend(self, mha: torch.nn.Module, x: str, k: str, v: str, key_mask: str) -> tuple[str, str]:
        """(output [B, Tq, d], weights averaged over heads [B, Tq, Tk]) for queries x, keys/values [B, h, Tk, d_k]."""
        g = self.g
        q = self.heads(_dense(g, x, mha.q, self.name("q")))
        scores = g.op("Div", [g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])]),
                              self.const(np.array(np.sqrt(self.dk), np.float32))])
        allowed = g.op("Unsqueeze", [key_mask, self.const(np.array([1, 2], np.int64))])  # [B, 1, 1, Tk]
        probs = g.op("Softmax", [g.op("Where", [allowed, scores, self.const(np.array(-np.inf, np.float32))])], axis=-1)
        out = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3]),
                               self.const(np.array([0, 0, self.d], np.int64))])
        return _dense(g, out, mha.o, self.name("o")), g.op("ReduceMean", [probs], axes=[1], keepdims=0)

    def sublayer(self, x: str, sub: torch.nn.Module, fn) -> str:
        pre = self.cfg.pre_norm
        y = self.g.op("Add", [x, fn(self.norm(x, sub.norm) if pre else x)])
        return y if pre else self.norm(y, sub.norm)

    def feed_forward(self, ff: torch.nn.Module, x: str) -> str:
        return _dense(self.g, self.g.op("Relu", [_dense(self.g, x, ff[0], self.name("ff1"))]), ff[3], self.name("ff2"))

    def positions(self) -> str:
        p = self.model.positions
        return self.const(_np(p.learned.weight if p.learned is not None else p.table))

    def encoder(self) -> dict[str, str]:
        """src [B, S], lengths [B] → mask [B, S] and every decoder layer's projected memory mk{i}, mv{i}."""
        g, model = self.g, self.model
        mask = _mask(g, "src", "lengths")
        S = g.op("Shape", ["src"], start=1, end=2)
        pos = g.op("Slice", [self.positions(), self.const(np.array([0], np.int64)), S, self.const(np.array([0], np.int64))])
        x = g.op("Add", [g.op("Mul", [g.op("Gather", [self.const(_np(model.src_embedding.weight)), "src"]),
                                      self.const(np.array(np.sqrt(self.d), np.float32))]), pos])
        for layer in model.encoder:
            x = self.sublayer(x, layer.s1, lambda h, a=layer.attn: self.attend(a, h, *self.project(a, h), mask)[0])
            x = self.sublayer(x, layer.s2, lambda h, f=layer.ff: self.feed_forward(f, h))
        memory = self.norm(x, model.enc_norm) if self.cfg.pre_norm else x
        out = {"mask": mask}
        for i, layer in enumerate(model.decoder):
            out[f"mk{i}"], out[f"mv{i}"] = self.project(layer.cross_attn, memory)
        return out

    def step(self) -> dict[str, str]:
        """token [B], the prefix's self-attention keys/values k{i}, v{i} [B, h, t, d_k] and mask [B, t], the memory's
        mk{i}, mv{i} and mask → logits [B, V], the extended caches (k{i}_n, v{i}_n, prefix_mask_n) and the last
        layer's cross-attention weights [B, S]."""
        g, model = self.g, self.model
        offset = g.op("Shape", ["k0"], start=2, end=3)  # positions read so far
        tokens = g.op("Unsqueeze", ["token", self.const(np.array([1], np.int64))])  # [B, 1]
        y = g.op("Add", [g.op("Mul", [g.op("Gather", [self.const(_np(model.tgt_embedding.weight)), tokens]),
                                      self.const(np.array(np.sqrt(self.d), np.float32))]),
                         g.op("Gather", [self.positions(), offset])])  # [B, 1, d]
        real = g.op("Not", [g.op("Equal", [tokens, self.const(np.array(self.cfg.padding_idx, np.int64))])])
        prefix_mask = g.op("Concat", ["prefix_mask", real], axis=1)  # [B, t + 1]
        out: dict[str, str] = {}
        weights = None
        for i, layer in enumerate(model.decoder):
            def self_attention(h, a=layer.self_attn, i=i):
                k_new, v_new = self.project(a, h)
                out[f"k{i}_n"] = g.op("Concat", [f"k{i}", k_new], axis=2)
                out[f"v{i}_n"] = g.op("Concat", [f"v{i}", v_new], axis=2)
                return self.attend(a, h, out[f"k{i}_n"], out[f"v{i}_n"], prefix_mask)[0]

            def cross_attention(h, a=layer.cross_attn, i=i):
                nonlocal weights
                result, weights = self.attend(a, h, f"mk{i}", f"mv{i}", "mask")
                return result

            y = self.sublayer(y, layer.s1, self_attention)
            y = self.sublayer(y, layer.s2, cross_attention)
            y = self.sublayer(y, layer.s3, lambda h, f=layer.ff: self.feed_forward(f, h))
        if self.cfg.pre_norm:
            y = self.norm(y, model.dec_norm)
        squeeze = self.const(np.array([1], np.int64))
        out["logits"] = g.op("Squeeze", [_dense(g, y, model.out, "out"), squeeze])
        out["prefix_mask_n"] = prefix_mask
        out["weights"] = g.op("Squeeze", [weights, self.const(np.array([1], np.int64))])
        return out


def build_transformer(model: torch.nn.Module) -> tuple[Any, Any]:
    """(encoder, decoder step) ModelProtos of a Transformer seq2seq model. The step carries a key/value cache,
    as ``TransformerSeq2Seq.step`` does: its inputs k{i}, v{i} (start with length 0) and prefix_mask come back
    as k{i}_n, v{i}_n, prefix_mask_n; the encoder's mask, mk{i}, mv{i} feed every step."""
    model = model.eval()
    L, h, dk = len(model.decoder), model.cfg.heads, model.cfg.d_model // model.cfg.heads
    protos = []
    for part in ("encoder", "decoder"):
        g = Graph()
        helper, TP = g.helper, g.TensorProto
        graph = _TransformerGraph(g, model)
        if part == "encoder":
            inputs = [helper.make_tensor_value_info("src", TP.INT64, ["batch", "source"]),
                      helper.make_tensor_value_info("lengths", TP.INT64, ["batch"])]
            named = graph.encoder()
        else:
            inputs = [helper.make_tensor_value_info("token", TP.INT64, ["batch"]),
                      helper.make_tensor_value_info("mask", TP.BOOL, ["batch", "source"]),
                      helper.make_tensor_value_info("prefix_mask", TP.BOOL, ["batch", "prefix"])]
            for i in range(L):
                inputs += [helper.make_tensor_value_info(f"{kind}{i}", TP.FLOAT, ["batch", h, length, dk])
                           for kind, length in (("k", "prefix"), ("v", "prefix"), ("mk", "source"), ("mv", "source"))]
            named = graph.step()
        outputs = []
        for name, value in named.items():
            g.nodes.append(helper.make_node("Identity", [value], [name]))
            kind = TP.BOOL if "mask" in name else TP.FLOAT
            rank = 4 if name[:1] in ("k", "v", "m") and "mask" not in name else 2
            outputs.append(helper.make_tensor_value_info(name, kind, [f"{name}_{j}" for j in range(rank)]))
        protos.append(g.finish(f"seqlab_transformer_{part}", inputs, outputs))
    return tuple(protos)


CLASSIFIERS = {"rnn_classifier": _recurrent_classifier, "textcnn": _textcnn, "bow": _bag_of_words}
EXPORTABLE = (*CLASSIFIERS, "tagger", "rnn_lm")


def build(model: torch.nn.Module, name: str):
    """The ONNX ModelProto of ``model`` (``name`` its registry name). A classifier: ids, lengths → logits,
    probabilities; the tagger: ids, lengths, chars, char_lengths → emissions [B, T, tags]."""
    if name not in EXPORTABLE:
        raise ValueError(f"ONNX export: model {name!r} is not exportable yet (exportable: {', '.join(EXPORTABLE)})")
    g = Graph()
    helper, TP = g.helper, g.TensorProto
    model = model.eval()
    inputs = [helper.make_tensor_value_info("ids", TP.INT64, ["batch", "time"]),
              helper.make_tensor_value_info("lengths", TP.INT64, ["batch"])]
    if name == "rnn_lm":
        L, H = model.rnn.num_layers, model.rnn.hidden_size
        state = [helper.make_tensor_value_info("h0", TP.FLOAT, [L, "batch", H])]
        if model.rnn.mode == "lstm":
            state.append(helper.make_tensor_value_info("c0", TP.FLOAT, [L, "batch", H]))
        inputs = inputs[:1] + state
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
    elif name == "tagger":
        inputs += [helper.make_tensor_value_info("chars", TP.INT64, ["batch", "time", "word"]),
                   helper.make_tensor_value_info("char_lengths", TP.INT64, ["batch", "time"])]
        emissions = _tagger(g, model, "ids", "lengths", "chars", "char_lengths")
        g.nodes.append(helper.make_node("Identity", [emissions], ["emissions"]))
        outputs = [helper.make_tensor_value_info("emissions", TP.FLOAT, ["batch", "time", "tags"])]
    else:
        logits = CLASSIFIERS[name](g, model, "ids", "lengths")
        g.nodes.append(helper.make_node("Identity", [logits], ["logits"]))
        g.nodes.append(helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1))
        outputs = [helper.make_tensor_value_info("logits", TP.FLOAT, ["batch", "classes"]),
                   helper.make_tensor_value_info("probabilities", TP.FLOAT, ["batch", "classes"])]
    return g.finish(f"seqlab_{name}", inputs, outputs)


SEQ2SEQ_GRAPHS = {"seq2seq": build_seq2seq, "transformer": build_transformer}  # encoder.onnx, decoder.onnx


def graphs_of(model: torch.nn.Module, name: str) -> dict[str, Any]:
    """The graph files of ``model`` (``name`` its registry name) and their ModelProtos."""
    if name in SEQ2SEQ_GRAPHS:
        return dict(zip(("encoder.onnx", "decoder.onnx"), SEQ2SEQ_GRAPHS[name](model)))
    return {ONNX_FILE: build(model, name)}


def export(model_dir: str | Path, out_dir: str | Path, int8: bool = False) -> dict[str, Any]:
    """Write the graphs of the model in ``model_dir`` and export.json to ``out_dir``; returns export.json (with
    what the task declares its numpy runtime needs: ``Task.export_metadata``)."""
    art, task = load_task(model_dir)
    runtime_info = task.export_metadata(art.model)  # what the numpy side needs beyond the graph
    if runtime_info is None:
        raise ValueError(f"{model_dir}: ONNX export covers classifiers, taggers, language models and seq2seq "
                         f"models; this model is {task.name}")
    onnx = _onnx()[0]
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    graphs = graphs_of(art.model, art.model_config["name"])
    for file, proto in graphs.items():
        path = out / file
        if int8:
            import logging

            from onnxruntime.quantization import QuantType, quantize_dynamic

            logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))  # its "pre-process" advice
            plain = out / f".fp32.{file}"
            onnx.save(proto, plain)
            # every op onnxruntime quantises dynamically but Gather: an embedding lookup gains nothing from int8 and
            # dequantising its rows cost a fifth of the BiLSTM's batch-64 throughput (RESULTS.md)
            quantize_dynamic(str(plain), str(path), weight_type=QuantType.QInt8,
                             op_types_to_quantize=["MatMul", "LSTM", "Conv", "Attention"])
            plain.unlink()
        else:
            onnx.save(proto, path)
    described = {
        "format": "onnx", "schema": 1, "task": task.name, "model": art.model_config["name"], "int8": int8,
        "files": task.files(), "data": (art.recipe.get("data") or {}),
        "graphs": {file: {"inputs": [i.name for i in p.graph.input], "outputs": [o.name for o in p.graph.output]}
                   for file, p in graphs.items()},
        "source": str(Path(model_dir)), "seqlab": __version__,
        "eval_batch_size": int((art.recipe.get("train") or {}).get("eval_batch_size") or 256),  # reproduces its figures
    }
    described.update(runtime_info)
    described["manifest"] = manifest(out, sorted(graphs))
    (out / EXPORT_JSON).write_text(json.dumps(described, indent=1, ensure_ascii=False), encoding="utf-8")
    return described
