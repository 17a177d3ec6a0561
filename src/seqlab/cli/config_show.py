"""seqlab config RECIPE [--set K=V …] — the recipe as seqlab reads it: merged with the overrides, validated, every
default filled in."""

from __future__ import annotations

import argparse
import dataclasses

import yaml

from ..tasks import load_recipe
from .output import add_json_flag, add_recipe_flags, emit_json

HELP = "print a recipe as seqlab reads it: overrides applied, every field checked, defaults filled in"


def add_parser(sub) -> None:
    p = sub.add_parser("config", help=HELP, description=HELP + ". Nothing is read or trained; an invalid recipe "
                       "fails here with the same one-line error as `seqlab train`.")
    p.add_argument("recipe", help="a recipe file, or the name of a packaged recipe (`seqlab recipes`)")
    add_recipe_flags(p)
    add_json_flag(p)


def run(args: argparse.Namespace) -> int:
    from ..models import registry
    from ..tasks import get_task

    recipe = load_recipe(args.recipe, args.overrides)
    get_task(recipe.task, recipe.source)  # an unknown task fails here as in `seqlab train`, with "did you mean"
    merged = recipe.to_dict()
    # every model field with its default (sizes filled from the data, such as vocab_size, show 0 here)
    merged["model"] = dataclasses.asdict(registry.model_config(merged["model"], recipe.source))
    if args.json:
        emit_json(merged)
    else:
        print(yaml.safe_dump(merged, sort_keys=False, allow_unicode=True).rstrip())
    return 0
