import pytest

from seqlab.config import ConfigError
from seqlab.tasks import load_recipe
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
    with pytest.raises(ConfigError, match="r.yaml: model.pooling: must be one of last, mean, max, attention, concat, got 'sum'"):
        build({"name": "rnn_classifier", "vocab_size": 10, "num_classes": 2, "pooling": "sum"}, "r.yaml")


@pytest.mark.parametrize("recipe, field, needle", [
    ("mr-bilstm", "model.cell=gr", "model.cell: must be one of lstm, gru, rnn, got 'gr'"),
    ("conll2000-bilstm-crf", "model.cell=rnn", "model.cell: must be one of lstm, gru, got 'rnn'"),  # the tagger's narrower set
    ("mr-bilstm", "model.pooling=maxx", "model.pooling: must be one of"),
])
def test_choices_of_a_model_section_are_checked_by_config(recipe, field, needle, expect_error, tmp_path, monkeypatch):
    """`seqlab config` refuses a bad choice, so that `train` never reads data or makes a directory for it."""
    monkeypatch.chdir(tmp_path)
    expect_error(["config", recipe, "--set", field], needle)
    expect_error(["train", recipe, "--set", field], needle)
    assert not (tmp_path / "runs").exists()


def test_overrides_are_parsed_as_yaml(tmp_path):
    path = write(tmp_path, "model: {name: textcnn}\ntrain: {lr: 0.1}\n")
    recipe = load_recipe(path, ["train.lr=0.002", "train.patience=null", "model.widths=[2, 3]", "data.dataset=mr"])
    assert recipe.train.lr == 0.002 and recipe.train.patience is None
    assert recipe.model["widths"] == [2, 3] and recipe.data.dataset == "mr"
    with pytest.raises(ConfigError, match="expected key=value"):
        load_recipe(path, ["train.lr"])
