"""Chinese as the tutorials write it: jieba word segmentation as a tokenizer (fixed sentences, a user dictionary,
offsets back into the text, the tokenizer saved with a model and used by predict, an ONNX export and the server),
and ChnSentiCorp in the registry."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest
import yaml

pytest.importorskip("jieba", reason="the zh extra is not installed: pip install 'seqlab[zh]'")

from seqlab import inference  # noqa: E402
from seqlab.cli.main import main  # noqa: E402
from seqlab.config import ConfigError, DataConfig  # noqa: E402
from seqlab.tasks import load_recipe
from seqlab.data.datasets import load_splits  # noqa: E402
from seqlab.data.tokenizers import Tokenizer, jieba_words, read_user_dict, token_offsets  # noqa: E402


def test_fixed_sentences_segment_into_words():
    assert jieba_words("我爱人工智能") == ["我", "爱", "人工智能"]
    assert jieba_words("这家酒店的服务很好") == ["这家", "酒店", "的", "服务", "很", "好"]
    # basic_english's rules hold for the Latin text, numbers and punctuation between the Chinese runs
    assert jieba_words("这部电影 is GREAT! 真的，2024年") == ["这部", "电影", "is", "great", "!", "真的", "，", "2024", "年"]
    assert jieba_words("Keep CASE 中文", lowercase=False) == ["Keep", "CASE", "中文"]
    assert jieba_words("") == [] and jieba_words("   ") == []


def test_a_user_dictionary_changes_the_segmentation(tmp_path):
    path = tmp_path / "user.txt"
    path.write_text("# hotel words\n服务很好 100\n\n酒店的 50 n\n", encoding="utf-8")
    assert read_user_dict(path) == ["服务很好 100", "酒店的 50 n"]
    tok = Tokenizer.from_config("jieba", True, str(path))
    assert tok("这家酒店的服务很好") == ["这家", "酒店的", "服务很好"]
    assert Tokenizer("jieba")("这家酒店的服务很好") == ["这家", "酒店", "的", "服务", "很", "好"]  # no leak between the two


def test_user_dictionary_errors_name_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("好词 12\n坏 行 x 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.txt:2: expected 'word \[frequency\] \[tag\]'"):
        read_user_dict(bad)
    with pytest.raises(ConfigError, match="no such user dictionary"):
        read_user_dict(tmp_path / "missing.txt")


def test_recipe_fields_are_checked_before_anything_is_read(tmp_path):
    (tmp_path / "train.tsv").write_text("text\tlabel\n好\tpos\n", encoding="utf-8")
    (tmp_path / "words.txt").write_text("好词\n", encoding="utf-8")
    base = {"task": "classification", "data": {"train": "train.tsv", "tokenizer": "jieba", "user_dict": "words.txt"},
            "model": {"name": "bow"}}
    (tmp_path / "ok.yaml").write_text(yaml.safe_dump(base), encoding="utf-8")
    recipe = load_recipe(tmp_path / "ok.yaml")
    assert recipe.data.user_dict.endswith("words.txt")  # found beside the recipe
    for data, needle in [({"tokenizer": "kim"}, "data.user_dict: a user dictionary is for tokenizer jieba"),
                         ({"user_dict": "nope.txt"}, "data.user_dict: no such file"),
                         ({"tokenizer": "jeiba"}, "data.tokenizer: must be one of")]:
        (tmp_path / "bad.yaml").write_text(yaml.safe_dump({**base, "data": {**base["data"], **data}}), encoding="utf-8")
        with pytest.raises(ConfigError, match=needle):
            load_recipe(tmp_path / "bad.yaml")


@pytest.mark.parametrize("text", ["这家酒店的服务很好, 但是 WiFi 太慢!", "我爱人工智能。", "房间 OK，早餐 3.5 分"])
def test_offsets_map_every_token_back_to_the_text(text):
    tokens = Tokenizer("jieba")(text)
    spans = token_offsets(text, tokens)
    assert None not in spans
    assert [text[a:b].lower() for a, b in spans] == tokens
    assert all(spans[i][1] <= spans[i + 1][0] for i in range(len(spans) - 1))


GOOD, BAD = ["服务很好", "非常满意", "值得推荐", "干净舒适"], ["服务很差", "非常失望", "不推荐", "又脏又吵"]
FILLER = ["酒店", "房间", "早餐", "前台", "位置", "这次", "入住"]


@pytest.fixture(scope="module")
def jieba_model(tmp_path_factory):
    """A tiny jieba classifier trained with a user dictionary (which the saved tokenizer must carry along)."""
    root, rng = tmp_path_factory.mktemp("zh"), random.Random(3)
    rows = ["text\tlabel"]
    for i in range(160):
        words = rng.sample(FILLER, 3) + [rng.choice(GOOD if i % 2 else BAD)]
        rng.shuffle(words)
        rows.append("".join(words) + "\t" + ("pos" if i % 2 else "neg"))
    (root / "train.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (root / "words.txt").write_text("服务很好 1000\n服务很差 1000\n", encoding="utf-8")
    recipe = {"task": "classification",
              "data": {"train": "train.tsv", "tokenizer": "jieba", "user_dict": "words.txt"},
              "model": {"name": "rnn_classifier", "embed_dim": 16, "hidden_size": 16},
              "train": {"epochs": 4, "batch_size": 16, "lr": 0.02, "patience": None, "log_every": 0}}
    (root / "zh.yaml").write_text(yaml.safe_dump(recipe, allow_unicode=True), encoding="utf-8")
    assert main(["train", str(root / "zh.yaml"), "--out", str(root / "run"), "--no-progress"]) == 0
    return root / "run"


def test_the_saved_tokenizer_segments_as_in_training(jieba_model, capsys):
    spec = json.loads((jieba_model / "model" / "tokenizer.json").read_text(encoding="utf-8"))
    assert spec == {"name": "jieba", "lowercase": True, "user_dict": ["服务很好 1000", "服务很差 1000"]}
    vocab = json.loads((jieba_model / "model" / "vocab.json").read_text(encoding="utf-8"))
    assert "服务很好" in json.dumps(vocab, ensure_ascii=False)  # the user dictionary's word is one token
    capsys.readouterr()
    assert main(["predict", str(jieba_model), "这家酒店服务很好", "前台服务很差", "--json"]) == 0
    outputs = json.loads(capsys.readouterr().out.splitlines()[-1])["predictions"]
    assert [o["label"] for o in outputs] == ["pos", "neg"]


def test_export_and_server_answer_as_predict(jieba_model, tmp_path, capsys):
    pytest.importorskip("onnxruntime", reason="the onnx extra is not installed: pip install 'seqlab[onnx]'")
    pytest.importorskip("fastapi", reason="the serve extra is not installed: pip install 'seqlab[serve]'")
    from fastapi.testclient import TestClient

    from seqlab.serving.app import create_app

    texts = ["这家酒店服务很好", "前台服务很差，非常失望", "房间 OK"]
    torch_side = inference.load(jieba_model)
    expected = torch_side.predict(texts, {})
    assert main(["export", str(jieba_model), "--out", str(tmp_path / "onnx")]) == 0
    exported = inference.load(tmp_path / "onnx")
    assert [o["label"] for o in exported.predict(texts, {})] == [o["label"] for o in expected]
    assert exported.input_tokens(texts[0]) == torch_side.input_tokens(texts[0]) == ["这家", "酒店", "服务很好"]
    served_without_torch = subprocess.run([sys.executable, "-c", (
        "import sys, json\nfrom seqlab import inference\n"
        f"p = inference.load({str(tmp_path / 'onnx')!r})\n"
        "print(json.dumps([p.input_tokens('这家酒店服务很好'), 'torch' in sys.modules], ensure_ascii=False))")],
        capture_output=True, text=True, timeout=120)
    assert json.loads(served_without_torch.stdout) == [["这家", "酒店", "服务很好"], False], served_without_torch.stderr
    client = TestClient(create_app([torch_side]))
    answer = client.post(f"/v1/{torch_side.name}/predict", json={"inputs": texts})
    assert answer.status_code == 200 and answer.json()["outputs"] == json.loads(json.dumps(expected))


def test_chnsenticorp_in_the_registry(shared_data, monkeypatch):
    monkeypatch.setenv("SEQLAB_OFFLINE", "1")
    splits = load_splits("chnsenticorp", DataConfig())
    assert (len(splits.train), len(splits.dev), len(splits.test)) == (8640, 960, 1200)
    assert splits.labels == ["negative", "positive"]
    assert sum(ex.label == "positive" for ex in splits.test) == 593  # SOURCE.md: dev.tsv has 593 positive


def test_data_check_reports_the_corpus_overlap(shared_data, tmp_path, capsys):
    (tmp_path / "r.yaml").write_text(yaml.safe_dump({"task": "classification",
                                                     "data": {"dataset": "chnsenticorp", "tokenizer": "jieba"},
                                                     "model": {"name": "bow"}}))
    main(["data", "check", str(tmp_path / "r.yaml"), "--json"])
    reports = json.loads(capsys.readouterr().out.splitlines()[-1])["reports"]
    train, test = reports[f"{tmp_path / 'r.yaml'} train"], reports[f"{tmp_path / 'r.yaml'} test"]
    assert train["duplicate_texts"] > 1000 and 300 < test["also_in_train"] <= 335  # SOURCE.md: 335 of dev.tsv in train
    assert 30 < train["tokens_per_text"]["median"] < 80  # jieba words, not one whitespace token a review
