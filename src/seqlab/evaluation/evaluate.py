"""Evaluate a saved model directory on a split of the data it was trained on, or on a local file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import artifact
from ..config import DataConfig, from_dict
from ..data.readers import read_examples
from ..tasks import get_task


def guess_format(path: str | Path) -> str:
    name = Path(path).name.removesuffix(".gz")
    if Path(path).is_dir():
        return "folder"
    for suffix in ("tsv", "csv", "jsonl"):
        if name.endswith("." + suffix):
            return suffix
    return "tsv"


def load_task(model_dir: str | Path):
    """(artifact, task) for a model directory."""
    art = artifact.load(model_dir)
    return art, get_task(art.task).from_files(art.files, art.recipe)


def evaluate_dir(model_dir: str | Path, split: str = "test", data: str | None = None,
                 data_format: str | None = None, batch_size: int = 256) -> dict[str, Any]:
    """Metrics of the model in ``model_dir`` on ``split`` of its recipe's data, or on the file ``data``."""
    art, task = load_task(model_dir)
    data_cfg = art.recipe.get("data") or {}
    if data is not None:
        cfg = from_dict(DataConfig, data_cfg, "data", str(art.path / artifact.CONFIG))
        if art.task == "tagging":  # a CoNLL / CoNLL-U file read as the recipe reads its own
            cfg.dataset, cfg.train, cfg.dev, cfg.test = None, str(data), str(data), str(data)
            cfg.format = data_format or ("conllu" if str(data).endswith((".conllu", ".conllu.gz")) else "conll")
            examples = type(task).load_split(cfg, "test", str(data))
        else:
            examples = read_examples(data, data_format or guess_format(data), cfg.text_field, cfg.label_field)
        source = str(data)
    else:
        cfg = from_dict(DataConfig, data_cfg, "data", str(art.path / artifact.CONFIG))
        examples = type(task).load_split(cfg, split, str(art.path))
        source = f"{cfg.dataset or cfg.train}:{split}"
    scores = task.evaluate(art.model, task.encode(examples), batch_size)
    return {"model": str(art.path), "data": source, **scores}
