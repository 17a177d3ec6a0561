"""The CTranslate2 side of ``peers.py decode`` (runs in the peers' venv).

CTranslate2 4.8 has converters for OpenNMT-py, OpenNMT-tf, fairseq, Marian and Hugging Face models, none for Eole
checkpoints; so the model it runs here is seqlab's own Multi30k Transformer, written into CTranslate2's
``TransformerSpec`` through its Python spec API (the way its converters build one): pre-norm layers with the final
encoder and decoder norms, fused query/key/value projections for self-attention (query, then fused key/value for
the cross-attention), ReLU feed-forward, embeddings scaled by √d, seqlab's sinusoidal table as the position
encodings, layer-norm ε 1e-5 (torch's), ``<bos>`` starting the target, no source markers. The same weights, so the
same translations up to floating point: ``peers.py`` counts the sentences that differ.

    python peers_ct2.py convert --model runs/x/model --out ct2-int8 --quantization int8
    python peers_ct2.py translate --model ct2-int8 --src test.de --beam 5 --json out.json
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np


def sinusoidal(length: int, d_model: int) -> np.ndarray:
    """seqlab's table: sin on even dimensions, cos on odd (``seqlab.layers.transformer.sinusoidal_positions``)."""
    position = np.arange(length, dtype=np.float32)[:, None]
    div = np.exp(np.arange(0, d_model, 2, dtype=np.float32) * (-math.log(10000.0) / d_model))
    table = np.zeros((length, d_model), dtype=np.float32)
    table[:, 0::2] = np.sin(position * div)
    table[:, 1::2] = np.cos(position * div)[:, : d_model // 2]
    return table


def convert(args) -> None:
    from ctranslate2.converters import Converter
    from ctranslate2.specs import common_spec, transformer_spec
    from safetensors.numpy import load_file

    folder = Path(args.model)
    config = json.loads((folder / "config.json").read_text())["model"]
    files = json.loads((folder / "seq2seq.json").read_text())
    weights = load_file(str(folder / "model.safetensors"))
    if config["name"] != "transformer" or not config["pre_norm"] or config["positions"] != "sinusoidal":
        raise SystemExit(f"{folder}: only a pre-norm, sinusoidal seqlab Transformer converts (this is {config})")

    def w(name: str) -> np.ndarray:
        if name not in weights and name.startswith("out.weight"):
            name = "tgt_embedding.weight"  # tied
        if name not in weights and name == "tgt_embedding.weight":
            name = "src_embedding.weight"
        return weights[name]

    def linear(spec, scope: str) -> None:
        spec.weight, spec.bias = w(f"{scope}.weight"), w(f"{scope}.bias")

    def norm(spec, scope: str) -> None:
        spec.gamma, spec.beta = w(f"{scope}.weight"), w(f"{scope}.bias")

    def fused(spec, scopes: list[str]) -> None:
        spec.weight = np.concatenate([w(f"{s}.weight") for s in scopes])
        spec.bias = np.concatenate([w(f"{s}.bias") for s in scopes])

    def ffn(spec, scope: str, norm_scope: str) -> None:
        norm(spec.layer_norm, norm_scope)
        linear(spec.linear_0, f"{scope}.0")
        linear(spec.linear_1, f"{scope}.3")

    class SeqlabConverter(Converter):
        def _load(self):
            layers, heads, d = config["layers"], config["heads"], config["d_model"]
            spec = transformer_spec.TransformerSpec.from_config((layers, layers), heads, pre_norm=True,
                                                                activation=common_spec.Activation.RELU)
            table = sinusoidal(config["max_length"], d)
            enc, dec = spec.encoder, spec.decoder
            enc.embeddings[0].weight, enc.position_encodings.encodings = w("src_embedding.weight"), table
            dec.embeddings.weight, dec.position_encodings.encodings = w("tgt_embedding.weight"), table
            norm(enc.layer_norm, "enc_norm")
            norm(dec.layer_norm, "dec_norm")
            linear(dec.projection, "out")
            for i, layer in enumerate(enc.layer):
                s = f"encoder.{i}"
                fused(layer.self_attention.linear[0], [f"{s}.attn.q", f"{s}.attn.k", f"{s}.attn.v"])
                linear(layer.self_attention.linear[1], f"{s}.attn.o")
                norm(layer.self_attention.layer_norm, f"{s}.s1.norm")
                ffn(layer.ffn, f"{s}.ff", f"{s}.s2.norm")
            for i, layer in enumerate(dec.layer):
                s = f"decoder.{i}"
                fused(layer.self_attention.linear[0], [f"{s}.self_attn.q", f"{s}.self_attn.k", f"{s}.self_attn.v"])
                linear(layer.self_attention.linear[1], f"{s}.self_attn.o")
                norm(layer.self_attention.layer_norm, f"{s}.s1.norm")
                linear(layer.attention.linear[0], f"{s}.cross_attn.q")
                fused(layer.attention.linear[1], [f"{s}.cross_attn.k", f"{s}.cross_attn.v"])
                linear(layer.attention.linear[2], f"{s}.cross_attn.o")
                norm(layer.attention.layer_norm, f"{s}.s2.norm")
                ffn(layer.ffn, f"{s}.ff", f"{s}.s3.norm")
            spec.config.unk_token, spec.config.bos_token, spec.config.eos_token = "<unk>", "<bos>", "<eos>"
            spec.config.decoder_start_token = "<bos>"
            spec.config.layer_norm_epsilon = 1e-5
            spec.register_source_vocabulary(files["source_vocab"]["itos"])
            spec.register_target_vocabulary(files["target_vocab"]["itos"])
            return spec

    SeqlabConverter().convert(args.out, quantization=None if args.quantization == "float32" else args.quantization,
                              force=True)
    print(f"{folder} → {args.out} ({args.quantization})")


def translate(args) -> None:
    import ctranslate2

    translator = ctranslate2.Translator(args.model, device="cpu", inter_threads=1, intra_threads=args.threads)
    sources = [line.split() for line in Path(args.src).read_text(encoding="utf-8").splitlines()]
    translator.translate_batch(sources[:8], beam_size=args.beam)  # warm-up
    # seqlab decodes at most max_ratio × the source length + 5 tokens; CTranslate2 takes one limit per call, so
    # sources go in length order, 32 at a time, each call limited by its longest source
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    results = [None] * len(sources)
    started = time.perf_counter()
    for k in range(0, len(order), args.batch_size):
        chunk = order[k:k + args.batch_size]
        limit = int(max(len(sources[i]) for i in chunk) * args.max_ratio) + 5
        for i, r in zip(chunk, translator.translate_batch([sources[i] for i in chunk], beam_size=args.beam,
                                                          max_decoding_length=limit, length_penalty=1.0)):
            results[i] = r
    seconds = time.perf_counter() - started
    hypotheses = [r.hypotheses[0] for r in results]
    tokens = sum(len(h) + 1 for h in hypotheses)  # each with its <eos>, as seqlab counts
    report = {"runtime": f"CTranslate2 {ctranslate2.__version__} ({Path(args.model).name})", "seconds": seconds,
              "sentences": len(sources), "output_tokens": tokens, "tokens_per_s": tokens / seconds,
              "hypotheses": [" ".join(h) for h in hypotheses]}
    Path(args.json).write_text(json.dumps(report), encoding="utf-8")
    print(f"{report['runtime']}: {tokens:,} tokens in {seconds:.2f} s = {tokens / seconds:,.0f} tokens/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("convert", "translate"))
    parser.add_argument("--model", required=True)
    parser.add_argument("--out")
    parser.add_argument("--quantization", choices=("int8", "float32"), default="float32")
    parser.add_argument("--src")
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-ratio", type=float, default=2.0, help="seqlab's data.max_ratio")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json")
    args = parser.parse_args()
    (convert if args.action == "convert" else translate)(args)


if __name__ == "__main__":
    main()
