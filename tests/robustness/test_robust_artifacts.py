"""Damaged or hostile model directories: each ends in one line naming the file (and the tensor or field),
never a traceback, never an allocation from unchecked sizes, never a file read outside the directory."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import save_file

from seqlab.cli.main import main
from conftest import make_examples, recipe_dict, write_tsv


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A tiny trained classifier's run directory (trained once for the module)."""
    root = tmp_path_factory.mktemp("trained")
    data = {s: write_tsv(root / f"{s}.tsv", make_examples(n, i)) for i, (s, n) in enumerate((("train", 120), ("dev", 30), ("test", 30)))}
    recipe = root / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(recipe_dict(data, epochs=1)), encoding="utf-8")
    assert main(["train", str(recipe), "--out", str(root / "run"), "--no-progress"]) == 0
    return root / "run"


@pytest.fixture
def model_dir(trained, tmp_path) -> Path:
    copy = tmp_path / "model"
    shutil.copytree(trained / "model", copy)
    return copy


def weights_parts(path: Path) -> tuple[dict, bytes]:
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def write_weights(path: Path, header: dict, data: bytes) -> None:
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


def first_tensor(header: dict) -> str:
    return sorted(k for k in header if k != "__metadata__")[0]


def damage_truncated(p):
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) - 100])


def damage_empty(p):
    p.write_bytes(b"")


def damage_tiny(p):
    p.write_bytes(b"\x01\x02\x03")


def damage_absurd_header(p):
    raw = p.read_bytes()
    p.write_bytes(struct.pack("<Q", 2**62) + raw[8:])


def damage_header_not_json(p):
    raw = p.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    p.write_bytes(raw[:8] + b"{" * n + raw[8 + n:])


def damage_pickle(p):
    import pickle

    p.write_bytes(pickle.dumps({"weight": [1.0, 2.0]}))


def damage_overlap(p):
    header, data = weights_parts(p)
    names = sorted(k for k in header if k != "__metadata__")
    a, b = header[names[0]], header[names[1]]
    b["data_offsets"] = [a["data_offsets"][0], a["data_offsets"][0] + (b["data_offsets"][1] - b["data_offsets"][0])]
    write_weights(p, header, data)


def damage_missing_tensor(p):
    header, data = weights_parts(p)
    del header[first_tensor(header)]
    write_weights(p, header, data)


def damage_extra_tensor(p):
    header, data = weights_parts(p)
    end = max(v["data_offsets"][1] for k, v in header.items() if k != "__metadata__")
    header["evil.extra"] = {"dtype": "F32", "shape": [1], "data_offsets": [end, end + 4]}
    write_weights(p, header, data + b"\0\0\0\0")


def damage_relabelled_dtype(p):
    header, data = weights_parts(p)
    header[first_tensor(header)]["dtype"] = "I32"
    write_weights(p, header, data)


def damage_unknown_dtype(p):
    header, data = weights_parts(p)
    header[first_tensor(header)]["dtype"] = "F8_E9"
    write_weights(p, header, data)


def damage_shape_lies(p):
    header, data = weights_parts(p)
    header[first_tensor(header)]["shape"] = [10**6, 10**6]
    write_weights(p, header, data)


def damage_negative_offset(p):
    header, data = weights_parts(p)
    header[first_tensor(header)]["data_offsets"] = [-4, 0]
    write_weights(p, header, data)


def damage_header_list(p):
    write_weights(p, [1, 2, 3], b"")


def damage_nan(p):
    from safetensors.torch import load_file

    tensors = load_file(str(p))
    name = sorted(n for n, t in tensors.items() if t.is_floating_point())[0]
    tensors[name] = tensors[name].clone()
    tensors[name].view(-1)[0] = float("nan")
    save_file(tensors, str(p))


def damage_inf(p):
    from safetensors.torch import load_file

    tensors = load_file(str(p))
    name = sorted(n for n, t in tensors.items() if t.is_floating_point())[-1]
    tensors[name] = tensors[name].clone().fill_(float("inf"))
    save_file(tensors, str(p))


def damage_directory(p):
    p.unlink()
    p.mkdir()


def damage_removed(p):
    p.unlink()


WEIGHT_DAMAGE = {
    "truncated": (damage_truncated, "truncated"),
    "empty": (damage_empty, "too short"),
    "three bytes": (damage_tiny, "too short"),
    "absurd header length": (damage_absurd_header, "not a safetensors file"),
    "header not JSON": (damage_header_not_json, "header is not JSON"),
    "pickle renamed": (damage_pickle, "not a safetensors file"),
    "overlapping offsets": (damage_overlap, "overlap"),
    "missing tensor": (damage_missing_tensor, "is missing"),
    "extra tensor": (damage_extra_tensor, "evil.extra"),
    "F32 relabelled I32": (damage_relabelled_dtype, "is I32"),
    "unknown dtype": (damage_unknown_dtype, "malformed header entry"),
    "shape larger than its bytes": (damage_shape_lies, "bytes for a F32 tensor"),
    "negative offset": (damage_negative_offset, "malformed header entry"),
    "header a list": (damage_header_list, "not a JSON object"),
    "NaN weight": (damage_nan, "NaN or infinite"),
    "infinite weight": (damage_inf, "NaN or infinite"),
    "weights a directory": (damage_directory, "model.safetensors"),
    "weights removed": (damage_removed, "is missing"),
}


def refresh_manifest(model_dir: Path) -> None:
    """Rewrite config.json's manifest to match the files as they are now: what an attacker who edits config.json
    too would do, or a directory saved before manifests, so the checks behind the manifest are reached."""
    from seqlab.manifest import manifest

    config = json.loads((model_dir / "config.json").read_text())
    names = [n for n in config["manifest"] if (model_dir / n).is_file()]
    config["manifest"] = {**config["manifest"], **manifest(model_dir, names)}
    (model_dir / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize("case", sorted(WEIGHT_DAMAGE))
def test_damaged_weights(case, model_dir, expect_error):
    damage, needle = WEIGHT_DAMAGE[case]
    damage(model_dir / "model.safetensors")
    if (model_dir / "model.safetensors").is_file():  # first the manifest notices; then, rewritten, the header checks
        expect_error(["predict", model_dir, "a fine film"], "model.safetensors", "config.json manifest")
        refresh_manifest(model_dir)
    expect_error(["predict", model_dir, "a fine film"], "model.safetensors", needle)


def set_config(key_path, value):
    def change(config):
        node = config
        for key in key_path[:-1]:
            node = node[key]
        if value is DELETE:
            del node[key_path[-1]]
        else:
            node[key_path[-1]] = value
        return config
    return change


DELETE = object()
CONFIG_DAMAGE = {
    "files escape the directory": (set_config(["files"], ["../../../etc/passwd"]), "files"),
    "files with a slash": (set_config(["files"], ["sub/vocab"]), "files"),
    "files reserved name": (set_config(["files"], ["config"]), "files"),
    "files not a list": (set_config(["files"], "vocab"), "files: expected list"),
    "files holds a number": (set_config(["files"], [3]), "files"),
    "model missing": (set_config(["model"], DELETE), "model: missing"),
    "task missing": (set_config(["task"], DELETE), "task: missing"),
    "recipe missing": (set_config(["recipe"], DELETE), "recipe: missing"),
    "model a list": (set_config(["model"], [1]), "model: expected dict"),
    "task a number": (set_config(["task"], 7), "task: expected str"),
    "model name missing": (set_config(["model", "name"], DELETE), "model.name"),
    "unknown model": (set_config(["model", "name"], "gpt9"), "unknown model"),
    "vocab_size 1e10": (set_config(["model", "vocab_size"], 10**10), "shape"),
    "hidden_size changed": (set_config(["model", "hidden_size"], 17), "shape"),
    "hidden_size zero": (set_config(["model", "hidden_size"], 0), "model.hidden_size: must be greater than 0"),
    "hidden_size negative": (set_config(["model", "hidden_size"], -3), "model.hidden_size"),
    "num_layers zero": (set_config(["model", "num_layers"], 0), "model.num_layers"),
    "dropout 2": (set_config(["model", "dropout"], 2.0), "model.dropout"),
    "hidden_size text": (set_config(["model", "hidden_size"], "big"), "expected an integer"),
    "unknown model field": (set_config(["model", "colour"], "red"), "model.colour: unknown field"),
    "schema version": (set_config(["schema_version"], 99), "schema_version 99"),
    "schema version missing": (set_config(["schema_version"], DELETE), "schema_version"),
}


@pytest.mark.parametrize("case", sorted(CONFIG_DAMAGE))
def test_damaged_config(case, model_dir, expect_error):
    change, needle = CONFIG_DAMAGE[case]
    path = model_dir / "config.json"
    path.write_text(json.dumps(change(json.loads(path.read_text()))), encoding="utf-8")
    expect_error(["predict", model_dir, "a fine film"], "config.json", needle)


RAW_CONFIG = {
    "not JSON": (b"{'task': 1", "not valid JSON"),
    "a JSON list": (b"[1, 2]", "expected a JSON object"),
    "empty": (b"", "not valid JSON"),
    "binary": (b"\xff\xfe\x00\x01", "not UTF-8"),
    "deeply nested": (b"[" * 100_000 + b"]" * 100_000, "config.json"),
}


@pytest.mark.parametrize("case", sorted(RAW_CONFIG))
def test_unreadable_config(case, model_dir, expect_error):
    raw, needle = RAW_CONFIG[case]
    (model_dir / "config.json").write_bytes(raw)
    expect_error(["predict", model_dir, "a fine film"], "config.json", needle)


def test_escaping_file_name_reads_nothing_outside(model_dir, tmp_path, expect_error):
    secret = tmp_path / "secret.json"
    secret.write_text('{"itos": ["stolen"]}')
    config = json.loads((model_dir / "config.json").read_text())
    config["files"] = ["../secret"]
    (model_dir / "config.json").write_text(json.dumps(config))
    expect_error(["predict", model_dir, "a fine film"], "'../secret' is not a file name")


def test_missing_task_file(model_dir, expect_error):
    config = json.loads((model_dir / "config.json").read_text())
    (model_dir / f"{config['files'][0]}.json").unlink()
    expect_error(["predict", model_dir, "a fine film"], f"{config['files'][0]}.json", "is missing")


def test_config_sizes_are_checked_before_anything_is_allocated(model_dir, monkeypatch):
    """vocab_size 10¹⁰ would allocate 640 GB: the check against the header must come first."""
    from seqlab import artifact
    from seqlab.models import registry

    config = json.loads((model_dir / "config.json").read_text())
    config["model"]["vocab_size"] = 10**10
    (model_dir / "config.json").write_text(json.dumps(config))
    built = []
    original = registry.build
    monkeypatch.setattr(registry, "build", lambda *a, **k: built.append(str(torch.empty(0).device)) or original(*a, **k))
    with pytest.raises(artifact.ArtifactError, match="shape"):
        artifact.load(model_dir)
    assert built == ["meta"]  # only the meta-device build ran


@pytest.mark.parametrize("where", ["run dir is a file", "no such dir", "empty dir"])
def test_not_a_model_directory(where, tmp_path, expect_error):
    target = tmp_path / "x"
    if where == "run dir is a file":
        target.write_text("hello")
    elif where == "empty dir":
        target.mkdir()
    expect_error(["predict", target, "a fine film"], str(target))


def test_crafted_archive_in_the_cache_is_refused(tmp_path, monkeypatch):
    """A tarball placed in the cache is checked against its sha256 before anything is prepared from it."""
    import io
    import tarfile

    from seqlab.data import datasets

    monkeypatch.setenv("SEQLAB_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("SEQLAB_DATA_DIR", str(tmp_path / "absent"))
    folder = tmp_path / "imdb"
    folder.mkdir()
    archive = folder / "aclImdb_v1.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        data = b"buy now"
        info = tarfile.TarInfo("aclImdb/train/pos/0_9.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    from seqlab.data import download

    spec = datasets.get_spec("imdb")
    monkeypatch.setenv("SEQLAB_OFFLINE", "1")
    with pytest.raises(datasets.DatasetError, match="sha256 .* does not match"):
        datasets.locate(spec)
    assert not (folder / "train.csv.gz").exists() and (folder / "aclImdb_v1.tar.gz.rejected").exists()
    # online, the crafted file is set aside and the real one downloaded (here: the download is refused)
    (folder / "aclImdb_v1.tar.gz.rejected").replace(archive)
    monkeypatch.delenv("SEQLAB_OFFLINE")
    fetched = []
    monkeypatch.setattr(download, "fetch", lambda remote, dest: fetched.append(remote.url) or (_ for _ in ()).throw(
        datasets.DatasetError(f"{remote.url}: download failed (offline test)")))
    with pytest.raises(datasets.DatasetError, match="download failed"):
        datasets.locate(spec)
    assert fetched == [spec.archive.url] and not (folder / "train.csv.gz").exists()


def test_verify_reports_a_crafted_archive_and_what_was_prepared_from_it(tmp_path, monkeypatch):
    from seqlab.data import datasets

    monkeypatch.setenv("SEQLAB_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("SEQLAB_DATA_DIR", str(tmp_path / "absent"))
    folder = tmp_path / "imdb"
    folder.mkdir()
    for name in ("aclImdb_v1.tar.gz", "train.csv.gz", "test.csv.gz", "unsup.csv.gz"):
        (folder / name).write_bytes(b"crafted")
    report = dict(datasets.verify(datasets.get_spec("imdb")))
    assert report[str(folder / "aclImdb_v1.tar.gz")].startswith("sha256 mismatch")
    assert all(status.startswith("sha256 mismatch") for status in report.values())


def _edit_json(path: Path, change) -> None:
    path.write_text(json.dumps(change(json.loads(path.read_text()))), encoding="utf-8")


def _vocab_longer(v):
    return {"itos": v["itos"] + ["extra1", "extra2"]}


def _vocab_shorter(v):
    return {"itos": v["itos"][:-3]}


def _vocab_permuted(v):
    itos = v["itos"]
    return {"itos": itos[:4] + itos[4:][::-1]}


TAMPERED_FILES = {  # file, change, the error with the manifest, and once the manifest is rewritten to match
    "vocabulary two words longer": ("vocab.json", _vocab_longer, "vocab_size = "),
    "vocabulary three words shorter": ("vocab.json", _vocab_shorter, "vocab_size = "),
    "vocabulary permuted": ("vocab.json", _vocab_permuted, None),  # same size: only the manifest can tell
    "one label": ("labels.json", lambda labels: labels[:1], "num_classes = 1"),
    "three labels": ("labels.json", lambda labels: labels + ["maybe"], "num_classes = 3"),
    "labels not a list": ("labels.json", lambda labels: {"a": 1}, "num_classes"),
    "vocabulary not a list": ("vocab.json", lambda v: {"itos": 5}, "cannot be read"),
    "vocabulary without itos": ("vocab.json", lambda v: {"words": v["itos"]}, "lack 'itos'"),
    "garbage BPE tokenizer": ("tokenizer.json", lambda t: {**t, "name": "bpe", "bpe": {"model": "garbage"}}, "cannot be read"),
    "unknown tokenizer": ("tokenizer.json", lambda t: {**t, "name": "sentencepiece9"}, "cannot be read"),
}


@pytest.mark.parametrize("case", sorted(TAMPERED_FILES))
def test_task_files_that_do_not_match_the_weights(case, model_dir, expect_error):
    name, change, needle = TAMPERED_FILES[case]
    _edit_json(model_dir / name, change)
    expect_error(["predict", model_dir, "a fine film"], name, "config.json manifest")
    refresh_manifest(model_dir)
    if needle is None:  # a permuted vocabulary is a valid one: the manifest was the check, and it was rewritten
        assert main(["predict", str(model_dir), "a fine film"]) == 0
        return
    expect_error(["predict", model_dir, "a fine film"], needle)


@pytest.mark.parametrize("change, needle", [
    (lambda c: {**c, "task": "tagging"}, "the files of a tagging model lack"),
    (lambda c: {**c, "task": "language_model"}, "language_model"),
    (lambda c: {**c, "files": []}, "(files: none)"),
    (lambda c: {**c, "manifest": "all fine"}, "manifest: expected an object"),
    (lambda c: {**c, "manifest": {k: v for k, v in c["manifest"].items() if k != "vocab.json"}}, "vocab.json is not listed"),
])
def test_config_that_names_other_files_or_another_task(change, needle, model_dir, expect_error):
    _edit_json(model_dir / "config.json", change)
    expect_error(["predict", model_dir, "a fine film"], needle)


def test_a_directory_saved_before_manifests_loads_with_a_warning(model_dir, capsys):
    _edit_json(model_dir / "config.json", lambda c: {k: v for k, v in c.items() if k != "manifest"})
    with pytest.warns(UserWarning, match="no manifest"):
        assert main(["predict", str(model_dir), "a fine film"]) == 0


def test_explain_steps_must_be_positive(model_dir, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["explain", str(model_dir), "a fine film", "--steps", "0"])
    assert exit_.value.code == 2 and "argument --steps: must be at least 1, got 0" in capsys.readouterr().err
