import pytest

from seqlab.config import ConfigError, load_recipe
from seqlab.models.registry import build


def write(tmp_path, text):
    path = tmp_path / "r.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_fields_name_field_and_file(tmp_path):
    base = "model: {name: textcnn}\n"
    cases = {
        base + "train: {lr: fast}\n": "train.lr: expected a number, got 'fast'",
        base + "train: {epochz: 3}\n": "train.epochz: unknown field",
        base + "data: {min_freq: 1.5}\n": "data.min_freq: expected an integer",
        base + "train: {bucket: maybe}\n": "train.bucket: expected true or false",
        "model: {hidden: 3}\n": "model.name: missing",
        base + "trainer: {}\n": "trainer: unknown section",
        base + "train: [1, 2\n": "not valid YAML",
    }
    for text, message in cases.items():
        path = write(tmp_path, text)
        with pytest.raises(ConfigError) as err:
            load_recipe(path)
        assert str(err.value).startswith(str(path)), str(err.value)
        assert message in str(err.value)


def test_model_section_validated_by_registry(tmp_path):
    with pytest.raises(ConfigError, match=r"r.yaml: model.hidden_sise: unknown field"):
        build({"name": "rnn_classifier", "hidden_sise": 3}, "r.yaml")
    with pytest.raises(ConfigError, match=r"model.name: unknown model 'cnn'"):
        build({"name": "cnn"}, "r.yaml")
    with pytest.raises(ConfigError, match="pooling must be one of"):
        build({"name": "rnn_classifier", "vocab_size": 10, "num_classes": 2, "pooling": "sum"}, "r.yaml")


def test_overrides_are_parsed_as_yaml(tmp_path):
    path = write(tmp_path, "model: {name: textcnn}\ntrain: {lr: 0.1}\n")
    recipe = load_recipe(path, ["train.lr=0.002", "train.patience=null", "model.widths=[2, 3]", "data.dataset=mr"])
    assert recipe.train.lr == 0.002 and recipe.train.patience is None
    assert recipe.model["widths"] == [2, 3] and recipe.data.dataset == "mr"
    with pytest.raises(ConfigError, match="expected key=value"):
        load_recipe(path, ["train.lr"])
