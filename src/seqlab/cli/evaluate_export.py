"""``seqlab evaluate EXPORT``: an ONNX export (``seqlab export``) scored through onnxruntime on a split of its
recipe's data or on ``--data``, with the metrics ``seqlab evaluate`` gives the trained model: classifiers and taggers
through their predictors, a language model's perplexity through the task's own evaluation (the step graph called
as the model is, state carried between windows), a seq2seq model's BLEU or G2P error rates through the task's
scoring of the exported beam search's output."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch

from .. import runtime
from ..config import from_dict
from ..data.readers import read_examples
from ..data.readers import guess_format
from ..inference import load
from ..tasks import get_task
from ..tasks.tagging import tag_scores


class ExportedLanguageModel:
    """An exported language model's step graph called as ``RecurrentLM`` is: (inputs [B, T], hidden, condition,
    lengths) → (logits [B, T, V], hidden), the state going out and back in between calls. Padding sits at the end
    of a row and the model looks only left, so logits at real positions do not depend on it (``lengths`` unused)."""

    def __init__(self, predictor):
        self.session, self.state = predictor.session, predictor.meta["state"]
        self.outputs = [o.name for o in self.session.get_outputs()]

    def eval(self) -> "ExportedLanguageModel":
        return self

    def __call__(self, inputs: torch.Tensor, hidden=None, condition: torch.Tensor | None = None, lengths=None):
        if hidden is None:
            zeros = np.zeros((self.state["layers"], inputs.size(0), self.state["hidden_size"]), np.float32)
            hidden = {"h0": zeros, **({"c0": zeros.copy()} if self.state["cell"] == "lstm" else {})}
        feeds = {"ids": inputs.numpy().astype(np.int64), **hidden}
        if condition is not None:
            feeds["condition"] = condition.numpy().astype(np.int64)
        out = dict(zip(self.outputs, self.session.run(self.outputs, feeds)))
        hidden = {"h0": out["h_n"], **({"c0": out["c_n"]} if "c_n" in out else {})}
        return torch.from_numpy(out["logits"]), hidden


def evaluate_export(args: argparse.Namespace) -> dict[str, Any]:
    if args.report:
        raise ValueError("--report needs the trained model directory, not an ONNX export")
    predictor = load(args.model_dir, device=args.device)
    name = predictor.task_name
    if args.beam and name != "seq2seq":
        raise ValueError(f"--beam: {name} models do not decode with a beam")
    task_cls = get_task(name)
    data = predictor.meta.get("data") or {}
    cfg = from_dict(task_cls.data_config, data, "data", str(predictor.path), lenient=True)
    source = cfg.split_source(args.split)
    batch_size = args.batch_size or int(predictor.meta.get("eval_batch_size") or 256)
    if name == "tagging":
        if args.data:  # a CoNLL / CoNLL-U file read as the recipe reads its own
            cfg.dataset, cfg.train, cfg.dev, cfg.test = None, str(args.data), str(args.data), str(args.data)
            cfg.limit = cfg.eval_limit = None  # the whole file
            cfg.format = args.data_format or ("conllu" if str(args.data).endswith((".conllu", ".conllu.gz")) else "conll")
            source = str(args.data)
        sentences = [s for s in task_cls.load_split(cfg, "test" if args.data else args.split, source) if s.tokens]
        predicted = [tags for start in range(0, len(sentences), 256)
                     for tags in predictor.tag([list(s.tokens) for s in sentences[start:start + 256]])]
        chunked = any(t.startswith(("B-", "S-")) for t in predictor.tags)
        scores = tag_scores([list(s.tags) for s in sentences], predicted, chunked)
        return {"model": str(predictor.path), "runtime": predictor.describe()["runtime"], "data": source, **scores}
    if args.data:
        examples = read_examples(args.data, args.data_format or guess_format(args.data), cfg.text_field,
                                 cfg.label_field, cfg.encoding)
        source = str(args.data)
    else:
        examples = task_cls.load_split(cfg, args.split, str(predictor.path))
    if name == "classification":
        scores = predictor.evaluate([ex.text for ex in examples], [ex.label for ex in examples])
    else:
        task = task_cls.from_files(predictor.meta["files"], {"data": data})
        encoded = task.encode(examples)
        if name == "language_model":
            scores = task.evaluate(ExportedLanguageModel(predictor), encoded, batch_size)
        else:
            if args.beam:
                task.beam = args.beam
            options = {"beam": task.beam}

            def translate(rows: list[int]) -> list[str]:
                chunks = [rows[i:i + 64] for i in range(0, len(rows), 64)]
                return [out["hypotheses"][0]["text"]
                        for chunk in runtime.progress(chunks, len(chunks), f"decoding (beam {task.beam})")
                        for out in predictor.predict([encoded.sources[i] for i in chunk], options)]

            scores = task.score(encoded, translate)
    return {"model": str(predictor.path), "runtime": predictor.describe()["runtime"], "data": source, **scores}
