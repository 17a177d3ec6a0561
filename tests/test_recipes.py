"""Every recipe in recipes/ (and the quickstart's) is a valid recipe whose model section builds."""

from pathlib import Path

import pytest

from seqlab.tasks import load_recipe
from seqlab.data.datasets import REGISTRY
from seqlab.data.download import builtin_dir
from seqlab.models.registry import MODELS, build

RECIPES = sorted(Path(__file__).parents[1].joinpath("recipes").glob("*.yaml")) + [builtin_dir() / "quickstart.yaml"]


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_recipe_is_valid(path):
    recipe = load_recipe(path)
    if recipe.data.dataset:
        assert recipe.data.dataset in REGISTRY
    fields = MODELS[recipe.model["name"]][0].__dataclass_fields__
    filled = {"vocab_size": 50, "num_classes": 3, "src_vocab_size": 30, "tgt_vocab_size": 40, "char_vocab_size": 20, "tags": ["O", "B-X", "I-X"],
              "feature_sizes": [10] * len(getattr(recipe.data, "feature_columns", []))}
    sizes = {k: v for k, v in filled.items() if k in fields}
    model, _ = build({**recipe.model, **sizes}, str(path))
    named = dict(model.named_parameters())
    assert all(name in named for name in recipe.train.max_norm_params)


def test_issue_recipes_exist():
    names = {p.stem for p in RECIPES}
    assert {f"{d}-{m}" for d in ("mr", "sst2", "trec", "imdb") for m in ("bilstm", "textcnn", "bow")} <= names
    assert {"ptb-small", "ptb-medium", "wikitext2-lstm", "shakespeare-char"} <= names
    assert {"g2p-cmudict-bilstm-attn", "g2p-cmudict-transformer", "multi30k-de-en-gru-bahdanau",
            "multi30k-de-en-lstm-luong", "multi30k-de-en-transformer", "tatoeba-spa-eng"} <= names
    assert {"digits-caption-attn", "digits-caption-noattn"} <= names
