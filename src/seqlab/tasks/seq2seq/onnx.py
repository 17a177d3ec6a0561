"""The seq2seq models as two ONNX graphs each. The recurrent model: ``encoder.onnx`` (src, lengths → keys,
projected, mask, the bridged initial state; reversed sources by ReverseSequence) and ``decoder.onnx`` (one step:
token and state → logits, next state, attention weights), every attention kind and input feeding. The
Transformer: ``encoder.onnx`` (mask and each decoder layer's projected memory) and ``decoder.onnx`` (one token
with the key/value cache in and out, LayerNormalization and the attention as explicit masked products). Beam
search runs in numpy (``seqlab.search``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ...onnx_graph import Graph, _dense, _mask, _np, _recurrent


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


BUILDERS = {"seq2seq": build_seq2seq, "transformer": build_transformer}


def graphs(model: torch.nn.Module, name: str) -> dict[str, Any]:
    """``encoder.onnx`` and ``decoder.onnx`` of seq2seq ``model`` (``name``: its registry name)."""
    if name not in BUILDERS:
        raise ValueError(f"ONNX export: model {name!r} is not an exportable seq2seq model (exportable: {', '.join(BUILDERS)})")
    return dict(zip(("encoder.onnx", "decoder.onnx"), BUILDERS[name](model)))
