"""seqlab summary DIR|RECIPE — layer table with parameter counts."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table
from torch import nn

from .. import artifact
from ..config import load_recipe
from ..layers.recurrent import RecurrentLayer
from ..models import registry
from ..tasks import get_task
from .output import add_json_flag, add_recipe_flags, emit_json

HELP = "show a model's layers and parameter counts"


def add_parser(sub) -> None:
    p = sub.add_parser("summary", help=HELP, description=HELP + " (from a saved model directory or a recipe; a recipe "
                       "reads its training data to size the vocabulary).")
    p.add_argument("target", metavar="DIR|RECIPE")
    add_recipe_flags(p)
    p.add_argument("--keras", action="store_true", help="count recurrent biases as Keras does: one bias per gate for "
                   "RNN and LSTM layers (torch.nn keeps b_ih and b_hh), two for a reset-after GRU")
    add_json_flag(p)


def keras_count(module: nn.Module, name: str, p) -> int:
    """A parameter's count under Keras's convention: b_hh of an RNN or LSTM layer folds into b_ih.

    >>> from seqlab.layers.recurrent import RNN
    >>> rnn = RNN(32, 16)
    >>> sum(keras_count(rnn, n, p) for n, p in rnn.named_parameters())  # 16·32 + 16·16 + 16, as Keras prints
    784
    """
    folds = isinstance(module, (RecurrentLayer, nn.RNN, nn.LSTM)) and not (
        isinstance(module, RecurrentLayer) and module.mode == "gru")
    return 0 if folds and name.startswith("bias_hh") else p.numel()


def layer_table(model: nn.Module, keras: bool = False) -> list[dict]:
    """One row per module that owns parameters directly: name, type, parameter shapes and count."""
    rows = []
    for name, module in model.named_modules():
        own = list(module.named_parameters(recurse=False))
        if not own:
            continue
        count = sum(keras_count(module, n, p) if keras else p.numel() for n, p in own)
        rows.append({
            "layer": name or "(root)",
            "type": type(module).__name__,
            "shapes": {n: list(p.shape) for n, p in own},
            "parameters": count,
        })
    return rows


def run(args: argparse.Namespace) -> int:
    target = Path(args.target)
    if target.suffix in (".yaml", ".yml"):
        recipe = load_recipe(target, args.overrides)
        task, _ = get_task(recipe.task, recipe.source).from_recipe(recipe.data, recipe.source)
        model, config = registry.build(task.model_section(recipe.model), recipe.source)
    else:
        art = artifact.load(target)
        model, config = art.model, art.model_config
    rows = layer_table(model, args.keras)
    total = sum(r["parameters"] for r in rows)
    if args.json:
        emit_json({"model": config, "layers": rows, "total_parameters": total,
                   "convention": "keras" if args.keras else "torch"})
        return 0
    table = Table(title=f"{config['name']}: {total:,} parameters" + (" (Keras convention)" if args.keras else ""))
    for col in ("layer", "type", "parameter shapes", "parameters"):
        table.add_column(col, justify="right" if col == "parameters" else "left")
    for r in rows:
        shapes = ", ".join(f"{n} {tuple(s)}" for n, s in r["shapes"].items())
        table.add_row(r["layer"], r["type"], shapes, f"{r['parameters']:,}")
    Console().print(table)
    return 0
