"""``seqlab evaluate EXPORT``: an ONNX export (``seqlab export``) scored through onnxruntime on a split of its
recipe's data or on ``--data``, with the metrics ``seqlab evaluate`` gives the trained model; each task says how
(``Task.score_export``: classifiers and taggers through their predictors, a language model's perplexity through the
task's own evaluation, a seq2seq model's BLEU or G2P error rates through the task's scoring of the exported beam
search's output)."""

from __future__ import annotations

import argparse
from typing import Any

from ..config import from_dict
from ..inference import load
from ..tasks import get_task


def evaluate_export(args: argparse.Namespace) -> dict[str, Any]:
    if args.report:
        raise ValueError("--report needs the trained model directory, not an ONNX export")
    predictor = load(args.model_dir, device=args.device)
    name = predictor.task_name
    if args.beam and "beam" not in predictor.option_table():
        raise ValueError(f"--beam: {name} models do not decode with a beam")
    task_cls = get_task(name)
    data = predictor.meta.get("data") or {}
    cfg = from_dict(task_cls.data_config, data, "data", str(predictor.path), lenient=True)
    if args.data:
        examples, source = task_cls.read_labelled_file(cfg, str(args.data), args.data_format), str(args.data)
    else:
        examples, source = task_cls.load_split(cfg, args.split, str(predictor.path)), cfg.split_source(args.split)
    batch_size = args.batch_size or int(predictor.meta.get("eval_batch_size") or 256)
    scores = task_cls.score_export(predictor, examples, data, batch_size, args.beam)
    return {"model": str(predictor.path), "runtime": predictor.describe()["runtime"], "data": source, **scores}
