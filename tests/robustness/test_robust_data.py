"""Malformed data files: one line naming file:line (and column for encodings), or a refusal naming the field;
never a silently wrong dataset (rows swallowed by a quote, a file decoded as Latin-1, null labels as classes)."""

from __future__ import annotations


import pytest
import yaml

from conftest import recipe_dict
from seqlab.data.readers import DataFormatError, read_conll, read_examples

GOOD = "text\tlabel\ngood film\tpos\nbad film\tneg\n"


def write(tmp_path, name: str, data: bytes | str):
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_tsv_quote_does_not_swallow_rows(tmp_path):
    path = write(tmp_path, "q.tsv", 'text\tlabel\n"an unbalanced quote\tpos\nnext row\tneg\nlast\tpos\n')
    rows = read_examples(path, "tsv")
    assert [(r.text, r.label) for r in rows] == [('"an unbalanced quote', "pos"), ("next row", "neg"), ("last", "pos")]


def test_csv_quoted_field_across_lines_is_reported(tmp_path):
    path = write(tmp_path, "q.csv", 'text,label\n"an unbalanced quote,pos\nnext row,neg\nlast,pos\n')
    with pytest.raises(DataFormatError, match=r"q.csv:2: .*quote opened on this line is never closed"):
        read_examples(path, "csv")
    path = write(tmp_path, "span.csv", 'text,label\n"two\nlines",pos\nnext,neg\n')
    with pytest.raises(DataFormatError, match=r"span.csv:2: a quoted field runs over 2 lines"):
        read_examples(path, "csv")


def test_one_latin1_line_is_an_error_at_its_byte(tmp_path):
    data = "text\tlabel\ncafé\tpos\n".encode() + b"na\xefve\tneg\n"
    path = write(tmp_path, "mixed.tsv", data)
    with pytest.raises(DataFormatError, match=r"mixed.tsv:3:3: byte 0xef is not valid utf-8"):
        read_examples(path, "tsv")
    assert [r.text for r in read_examples(write(tmp_path, "l1.tsv", b"text\tlabel\nna\xefve\tneg\n"), "tsv", encoding="latin-1")] == ["naïve"]


def test_byte_order_mark_is_dropped(tmp_path):
    path = write(tmp_path, "bom.tsv", b"\xef\xbb\xbf" + GOOD.encode())
    assert [r.label for r in read_examples(path, "tsv")] == ["pos", "neg"]


def test_nul_byte_is_refused(tmp_path):
    path = write(tmp_path, "nul.tsv", b"text\tlabel\ngo\x00od\tpos\n")
    with pytest.raises(DataFormatError, match=r"nul.tsv:2:3: NUL byte"):
        read_examples(path, "tsv")


@pytest.mark.parametrize("label, shown", [("null", "null"), ('["pos", "neg"]', '["pos", "neg"]'), ('""', '""'),
                                          ("true", "true"), ("{}", "{}"), ("1.5", "1.5")])
def test_jsonl_labels_must_be_labels(tmp_path, label, shown):
    path = write(tmp_path, "l.jsonl", '{"text": "fine", "label": "pos"}\n{"text": "x", "label": %s}\n' % label)
    with pytest.raises(DataFormatError, match=rf"l.jsonl:2: 'label' must be a non-empty string or an integer, got {shown.replace('[', '.').replace(']', '.')}"):
        read_examples(path, "jsonl")


@pytest.mark.parametrize("case, data, fmt, needle", [
    ("gzip that is not gzip", b"plain text", "tsv", "not a valid gzip file"),
    ("empty file", b"", "tsv", ":1: empty file, expected a header row"),
    ("missing column", b"words\tlabel\nx\tpos\n", "tsv", "no column 'text'"),
    ("extra field", b"text\tlabel\nx\tpos\textra\n", "tsv", ":2: expected 2 tab-separated fields"),
    ("empty label", b"text\tlabel\nx\t \n", "tsv", ":2: empty label"),
    ("jsonl not json", b'{"text": 1\n', "jsonl", ":1: not valid JSON"),
    ("jsonl text not a string", b'{"text": 3, "label": "a"}\n', "jsonl", "must be a string"),
    ("jsonl not an object", b'[1, 2]\n', "jsonl", "expected an object"),
    ("unknown format", GOOD.encode(), "xml", "unknown format 'xml'"),
])
def test_malformed_files(tmp_path, case, data, fmt, needle):
    name = "data.tsv.gz" if "gzip" in case else "data.txt"
    path = write(tmp_path, name, data)
    with pytest.raises(DataFormatError, match=needle.replace("(", ".").replace(")", ".")):
        read_examples(path, fmt)


def test_a_directory_given_as_a_file(tmp_path):
    with pytest.raises(DataFormatError, match="is a directory"):
        read_examples(tmp_path, "tsv")


def test_conll_column_out_of_range(tmp_path):
    path = write(tmp_path, "c.conll", "The DT B-NP\ncat NN I-NP\n\n")
    with pytest.raises(DataFormatError, match=r"c.conll:1: column 5 does not exist: the file has 3 columns"):
        read_conll(path, tag_column=5)
    with pytest.raises(DataFormatError, match=r"column 7 does not exist"):
        read_conll(path, feature_columns=(7,))


def recipe_file(tmp_path, train_rows: str, **data) -> str:
    paths = {s: write(tmp_path, f"{s}.tsv", train_rows if s == "train" else GOOD) for s in ("train", "dev", "test")}
    raw = recipe_dict(paths)
    raw["data"].update(data)
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return str(path)


def test_one_class_training_data_is_refused(tmp_path, expect_error):
    recipe = recipe_file(tmp_path, "text\tlabel\n" + "a fine film\tpos\n" * 20)
    expect_error(["train", recipe, "--out", tmp_path / "run"], "data.train: all 20 training examples have the label 'pos'")


def test_empty_vocabulary_is_refused(tmp_path, expect_error):
    recipe = recipe_file(tmp_path, "text\tlabel\n" + "\tpos\n\tneg\n" * 10)
    expect_error(["train", recipe, "--out", tmp_path / "run"], "the vocabulary is empty")
    recipe = recipe_file(tmp_path, GOOD, min_freq=100000)
    expect_error(["train", recipe, "--out", tmp_path / "run2"], "the vocabulary is empty", "data.min_freq (100000)")


def test_unknown_encoding_is_named(tmp_path, expect_error):
    recipe = recipe_file(tmp_path, GOOD, encoding="klingon-8")
    expect_error(["train", recipe, "--out", tmp_path / "run"], "unknown encoding 'klingon-8'")


def test_data_check_reports_problems(tmp_path, capsys):
    import json

    from seqlab.cli.main import main

    tsv = write(tmp_path, "d.tsv", "text\tlabel\na fine film\tpos\na fine film\tneg\n\tpos\nok\tneg\n")
    assert main(["data", "check", str(tsv), "--json"]) == 1
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["reports"][str(tsv)]
    assert report["examples"] == 4 and report["empty_texts"] == 1 and report["conflicting_duplicates"] == 1
    assert report["labels"] == {"pos": 2, "neg": 2}
    conll = write(tmp_path, "c.conll", "The DT I-NP\ncat NN I-NP\nsat VBD I-VP\n\nA DT B-NP\n")
    assert main(["data", "check", str(conll), "--json"]) == 1
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["reports"][str(conll)]
    assert report["sentences"] == 2 and report["chunks_starting_inside"] == 2
    assert "IOB1" in report["problems"][0]
    clean = write(tmp_path, "ok.tsv", GOOD)
    assert main(["data", "check", str(clean)]) == 0
    assert "no problems found" in capsys.readouterr().out


def test_data_check_a_recipe(tmp_path, capsys):
    from seqlab.cli.main import main

    recipe = recipe_file(tmp_path, GOOD)
    assert main(["data", "check", recipe]) == 0
    out = capsys.readouterr().out
    assert f"{recipe} train" in out and f"{recipe} test" in out


def test_iob1_file_is_refused_or_converted(tmp_path, expect_error):
    from seqlab.tasks import recipe_from_dict
    from seqlab.tasks.tagging.task import read_tagged_splits

    sentence = "He PRP I-NP\nsaw VBD I-VP\nthe DT I-NP\ndog NN I-NP\nthe DT B-NP\ncat NN I-NP\n\n"
    for split in ("train", "dev", "test"):
        write(tmp_path, f"{split}.conll", sentence * 3)
    raw = {"task": "tagging", "model": {"name": "tagger"},
           "data": {"train": str(tmp_path / "train.conll"), "dev": str(tmp_path / "dev.conll"),
                    "test": str(tmp_path / "test.conll"), "format": "conll"}}
    with pytest.raises(DataFormatError, match=r"train.conll: 9 chunks start with I- .* data.input_scheme: iob1"):
        read_tagged_splits(recipe_from_dict(raw).data)
    raw["data"]["input_scheme"] = "iob1"
    splits = read_tagged_splits(recipe_from_dict(raw).data)
    assert splits.test[0].tags == ("B-NP", "B-VP", "B-NP", "I-NP", "B-NP", "I-NP")


def test_every_example_is_accounted_for_per_split(tmp_path, capsys):
    """results.json and the log say, per split, how many examples were read, skipped (and why), used and cut."""
    import json

    from seqlab.cli.main import main

    rows = "text\tlabel\n" + "".join(f"{'good ' * (i % 7 + 1)}film {i}\t{'pos' if i % 2 else 'neg'}\n" for i in range(30))
    recipe = recipe_file(tmp_path, rows, limit=24, max_length=4)
    raw = yaml.safe_load(open(recipe))
    raw["train"]["epochs"] = 1
    open(recipe, "w").write(yaml.safe_dump(raw))
    assert main(["train", recipe, "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    captured = capsys.readouterr()
    log = captured.out + captured.err
    data = json.loads((tmp_path / "run" / "results.json").read_text())["data"]
    assert data["train"]["read"] == 30 and data["train"]["skipped"] == {"beyond data.limit": 6} and data["train"]["used"] == 24
    # rows 0..23: 'good' repeated (i % 7 + 1) times, then 'film', then the number: longer than 4 when i % 7 >= 2
    longer = sum(i % 7 + 3 > 4 for i in range(24))
    assert data["train"]["truncated"] == {"longer than data.max_length (4 tokens)": longer}
    assert data["dev"] == {**data["dev"], "read": 2, "skipped": {}, "used": 2}
    assert "train 30 read, 6 skipped (beyond data.limit: 6), 24 used" in " ".join(log.split())


def test_registry_lines_dropped_before_splitting_are_counted(shared_data):
    from seqlab.data.datasets import load_splits

    splits = load_splits("cr", None)
    lines = sum(len((shared_data / "cr" / name).read_bytes().splitlines()) for name in ("custrev.neg", "custrev.pos"))
    assert splits.dropped == {"before splitting": {"empty line": 4}}
    assert len(splits.train) + len(splits.dev) + len(splits.test) == lines - 4


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_a_diverging_learning_rate_stops_before_saving_a_model(tmp_path, capsys, optimizer):
    """``lr: 1e30`` kept a finite (1e30) loss and saved a model with weights of 1e30; now the run stops."""
    rows = "text\tlabel\n" + "".join(f"{'good' if i % 2 else 'bad'} film {i}\t{'pos' if i % 2 else 'neg'}\n" for i in range(40))
    recipe = recipe_file(tmp_path, rows)
    raw = yaml.safe_load(open(recipe))
    raw["train"].update(lr=1e30, optimizer=optimizer, batch_size=8)
    open(recipe, "w").write(yaml.safe_dump(raw))
    from seqlab.cli.main import main

    assert main(["train", recipe, "--out", str(tmp_path / "run"), "--no-progress"]) == 3  # exit 3: training diverged
    err = capsys.readouterr().err
    assert "Traceback" not in err
    stop = [line for line in err.splitlines() if line.startswith("seqlab train: training stopped:")]
    assert len(stop) == 1 and "training diverged" in stop[0] and "try a lower train.lr (now 1e+30)" in stop[0]
    assert not (tmp_path / "run" / "model").exists()
