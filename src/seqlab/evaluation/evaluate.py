"""Evaluate a saved model directory on a split of the data it was trained on, or on a local file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import artifact, runtime
from ..config import from_dict
from ..models.ensemble import Ensemble
from ..tasks import load_task


def ensemble_of(art, task, others: list[str | Path]) -> Ensemble:
    """``art``'s model with the models in ``others`` as one Ensemble, once each is checked to share its task's files."""
    if not type(task).ensembles:
        raise ValueError(f"--ensemble: {art.task} models cannot be ensembled (classification and seq2seq models can)")
    members = [art.model]
    for other in others:
        loaded = artifact.load(other)
        if loaded.task != art.task or loaded.files != art.files:
            raise ValueError(f"--ensemble: {loaded.path} is not a {art.task} model over {art.path}'s vocabularies "
                             f"and labels; ensemble models trained on the same data")
        members.append(loaded.model)
    return Ensemble(members)


def evaluate_dir(model_dir: str | Path, split: str = "test", data: str | None = None,
                 data_format: str | None = None, batch_size: int | None = None, report_dir: str | Path | None = None,
                 worst: int = 10, beam: int | None = None, device: str = "cpu",
                 ensemble: list[str | Path] | None = None) -> dict[str, Any]:
    """Metrics of the model in ``model_dir`` on ``split`` of its recipe's data, or on the file ``data``;
    with ``report_dir``, also the files people look at (see ``write_report``). ``batch_size`` defaults to the
    recipe's ``train.eval_batch_size``, so the run's own figures come out again (a language model's perplexity
    depends on how its text is cut into rows). ``ensemble``: more model directories of the same task and
    vocabularies, predicting with the first as one (``models.ensemble``)."""
    art, task = load_task(model_dir)
    if ensemble:
        art.model = ensemble_of(art, task, ensemble)
    art.model.to(runtime.device(device))
    if batch_size is None:
        batch_size = int((art.recipe.get("train") or {}).get("eval_batch_size") or 256)
    if beam is not None:
        if task.beam is None:
            raise ValueError(f"--beam: {art.task} models do not decode with a beam")
        task.beam = beam
    data_cfg = art.recipe.get("data") or {}
    if data is not None:
        cfg = from_dict(type(task).data_config, data_cfg, "data", str(art.path / artifact.CONFIG), lenient=True)
        examples = type(task).read_labelled_file(cfg, str(data), data_format)
        source = str(data)
    else:
        cfg = from_dict(type(task).data_config, data_cfg, "data", str(art.path / artifact.CONFIG), lenient=True)
        examples = type(task).load_split(cfg, split, str(art.path))
        source = cfg.split_source(split)
    encoded = task.encode(examples)
    scores = task.evaluate(art.model, encoded, batch_size)
    result = {"model": str(art.path), "data": source, **scores}
    if report_dir is not None:
        result["report"] = write_report(art, task, encoded, Path(report_dir), batch_size, worst)
    return result


def write_report(art, task, encoded, out: Path, batch_size: int = 256, worst: int = 10) -> dict[str, Any]:
    """Into ``out``: ``curves.png`` (loss and dev metrics from the run's metrics.jsonl, when there is one) and,
    for a classifier, ``confusion.png`` and ``report.json`` (per-class precision/recall/F1 and the ``worst``
    examples: those given the lowest probability of their gold label)."""
    from .. import metrics
    from . import plots

    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Any] = {}
    log = art.path.parent / "metrics.jsonl"
    if log.is_file():
        records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
        files["curves"] = str(plots.training_curves(records, out / "curves.png"))
    if task.scores_classes:
        probs = task.probabilities(art.model, encoded, batch_size)
        predicted = probs.argmax(-1).tolist()
        keep = [i for i, g in enumerate(encoded.labels) if g >= 0]
        gold = [encoded.labels[i] for i in keep]
        report = metrics.classification_report(gold, [predicted[i] for i in keep], task.labels)
        files["confusion"] = str(plots.confusion_matrix(gold, [predicted[i] for i in keep], task.labels, out / "confusion.png"))
        ranked = sorted(keep, key=lambda i: float(probs[i, encoded.labels[i]]))[:worst]
        report["worst"] = [{"text": encoded.texts[i], "gold": task.labels[encoded.labels[i]],
                            "predicted": task.labels[predicted[i]], "p_gold": float(probs[i, encoded.labels[i]])}
                           for i in ranked]
        (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
        files["report"] = str(out / "report.json")
        files["worst"] = report["worst"]
    return files
