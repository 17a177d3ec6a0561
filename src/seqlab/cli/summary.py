"""seqlab summary DIR|RECIPE — layer table with parameter counts."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table
from torch import nn

from .. import artifact
from ..tasks import load_recipe
from ..layers.recurrent import RecurrentLayer
from ..models import registry
from ..tasks import get_task
from .output import add_json_flag, add_recipe_flags, emit_json

HELP = "show a model's layers and parameter counts"


def add_parser(sub) -> None:
    p = sub.add_parser("summary", help=HELP, description=HELP + " (from a saved model directory or a recipe; a recipe "
                       "reads its training data to size the vocabulary).")
    p.add_argument("target", metavar="DIR|RECIPE", help="a run or model directory, or a recipe file")
    add_recipe_flags(p)
    p.add_argument("--keras", action="store_true", help="count recurrent biases as Keras does: one bias per gate for "
                   "RNN, LSTM and reset-before GRU layers (torch.nn keeps b_ih and b_hh), two for a reset-after GRU")
    add_json_flag(p)


def keras_count(module: nn.Module, name: str, p) -> int:
    """A parameter's count under Keras's convention: b_hh of an RNN, LSTM or reset-before GRU layer folds into
    b_ih (Keras's reset-after GRU keeps both, as torch does).

    >>> from seqlab.layers.recurrent import GRU, RNN
    >>> rnn = RNN(32, 16)
    >>> sum(keras_count(rnn, n, p) for n, p in rnn.named_parameters())  # 16·32 + 16·16 + 16, as Keras prints
    784
    >>> gru = GRU(32, 16, reset_after=False)
    >>> sum(keras_count(gru, n, p) for n, p in gru.named_parameters())  # Keras GRU(16, reset_after=False) on 32
    2352
    """
    reset_after_gru = isinstance(module, nn.GRU) or (isinstance(module, RecurrentLayer) and module.mode == "gru"
                                                      and module.reset_after)
    folds = isinstance(module, (RecurrentLayer, nn.RNN, nn.LSTM, nn.GRU)) and not reset_after_gru
    return 0 if folds and name.startswith("bias_hh") else p.numel()


def layer_table(model: nn.Module, keras: bool = False, frozen: set[str] = frozenset()) -> list[dict]:
    """One row per module that owns parameters directly: name, type, parameter shapes, count and how many of them
    are frozen (``frozen``: full parameter names kept fixed in training, e.g. the recipe's ``train.freeze``, plus
    any the model itself does not train). Under ``keras`` a folded bias is neither counted nor listed."""
    rows = []
    for name, module in model.named_modules():
        own = [(n, p) for n, p in module.named_parameters(recurse=False) if not keras or keras_count(module, n, p)]
        if not own:
            continue
        full = lambda n: f"{name}.{n}" if name else n  # noqa: E731
        rows.append({
            "layer": name or "(root)",
            "type": type(module).__name__,
            "shapes": {n: list(p.shape) for n, p in own},
            "parameters": sum(p.numel() for _, p in own),
            "frozen": sum(p.numel() for n, p in own if full(n) in frozen or not p.requires_grad),
        })
    return rows


def run(args: argparse.Namespace) -> int:
    target = Path(args.target)
    if target.suffix in (".yaml", ".yml"):
        recipe = load_recipe(target, args.overrides)
        task, _ = get_task(recipe.task, recipe.source).from_recipe(recipe.data, recipe.source)
        model, config = registry.build(task.model_section(recipe.model), recipe.source)
        freeze = set(recipe.train.freeze)
    else:
        art = artifact.load(target)
        model, config = art.model, art.model_config
        freeze = set((art.recipe.get("train") or {}).get("freeze") or [])
    rows = layer_table(model, args.keras, freeze)
    total, frozen = sum(r["parameters"] for r in rows), sum(r["frozen"] for r in rows)
    if args.json:
        emit_json({"model": config, "layers": rows, "total_parameters": total, "frozen_parameters": frozen,
                   "trainable_parameters": total - frozen, "convention": "keras" if args.keras else "torch"})
        return 0
    title = f"{config['name']}: {total:,} parameters" + (f", {frozen:,} of them frozen ({total - frozen:,} trained)" if frozen else "")
    table = Table(title=title + (" (Keras convention)" if args.keras else ""))
    for col in ("layer", "type", "parameter shapes", "parameters", "frozen"):
        table.add_column(col, justify="right" if col in ("parameters", "frozen") else "left")
    for r in rows:
        shapes = ", ".join(f"{n} {tuple(s)}" for n, s in r["shapes"].items())
        table.add_row(r["layer"], r["type"], shapes, f"{r['parameters']:,}", f"{r['frozen']:,}" if r["frozen"] else "")
    Console().print(table)
    return 0
