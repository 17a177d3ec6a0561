"""k-fold cross-validation as Kim (2014) reports MR, SUBJ, CR and MPQA: train once per fold (test = that
fold, dev = 10% of the rest), then the mean and standard deviation of the test metrics."""

from __future__ import annotations

import copy
import statistics
from pathlib import Path
from typing import Any

from rich.console import Console

from .. import artifact
from ..config import Recipe
from .run import train


def cross_validate(recipe: Recipe, out_dir: str | Path, out: Console | None = None, progress: bool = True,
                   metric: str = "accuracy", overwrite: bool = False) -> dict[str, Any]:
    out_dir = Path(out_dir)
    folds = recipe.data.folds
    per_fold = []
    for k in range(folds):
        fold_recipe = copy.deepcopy(recipe)
        fold_recipe.data.fold = k
        results = train(fold_recipe, out_dir / f"fold{k}", out=out, progress=progress, overwrite=overwrite)
        per_fold.append(results["test"][metric])
        if out is not None:
            out.print(f"fold {k + 1}/{folds}: test {metric} {per_fold[-1]:.4f}")
    summary = {
        "recipe": recipe.source, "folds": folds, "metric": metric, "per_fold": per_fold,
        "mean": statistics.fmean(per_fold), "std": statistics.stdev(per_fold) if folds > 1 else 0.0,
    }
    artifact.write_json(out_dir / "crossval.json", summary)
    return summary
