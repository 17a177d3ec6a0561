"""``seqlab export DIR --format onnx``: a trained model as ONNX graphs that onnxruntime runs without torch.

torch's exporter cannot export ``pack_padded_sequence`` (pytorch/pytorch#62240), but ONNX's LSTM, GRU and RNN
operators take each sequence's length (``sequence_lens``) natively: outputs past a sequence's end are zero and
the backward direction starts at its last real token. So every graph is written operator by operator from the
model's own weights (no tracing), by its task family (``tasks/<family>/onnx.py``: ``Task.onnx_graphs``) with the
shared pieces of ``seqlab.onnx_graph`` (the builder, the recurrent operators, build-and-check). This module only
looks the family up, writes the graphs and describes them.

The exported directory is self-describing and JSON-only beside the graphs: ``model.onnx`` (or ``encoder.onnx`` and
``decoder.onnx``), ``export.json`` (task, model name, tokenizer, vocabulary, labels, the recipe's data section,
what the task's numpy runtime needs, every graph's size and sha256, the seqlab version). ``--int8`` applies
onnxruntime's dynamic quantisation (weights int8, activations quantised on the fly) to the matrix products, LSTMs
and convolutions; embeddings stay float32.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import __version__
from ..manifest import manifest
from ..onnx_graph import EXPORT_JSON, _onnx
from ..tasks import load_task


def export(model_dir: str | Path, out_dir: str | Path, int8: bool = False) -> dict[str, Any]:
    """Write the graphs of the model in ``model_dir`` and export.json to ``out_dir``; returns export.json (with
    what the task declares its numpy runtime needs: ``Task.export_metadata``)."""
    art, task = load_task(model_dir)
    try:
        graphs = task.onnx_graphs(art.model, art.model_config["name"])  # the family's own (tasks/<family>/onnx.py)
    except ValueError as err:
        raise ValueError(f"{model_dir}: {err}") from None
    runtime_info = task.export_metadata(art.model) or {}  # what the numpy side needs beyond the graph
    onnx = _onnx()[0]
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
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
