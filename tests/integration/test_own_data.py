"""A new user's own data, and the usual mistakes (the newcomer's issue): runs that work from any directory, a
labelled file given to predict, options typed after the texts, a minimal seq2seq recipe, labels that differ only
in case, and the wording of what is printed."""

from __future__ import annotations

import json
import random
from pathlib import Path

import yaml
from conftest import make_examples, write_tsv

from seqlab.cli.main import main


def last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def classifier_folder(root: Path) -> Path:
    folder = root / "clf"
    folder.mkdir()
    write_tsv(folder / "train.tsv", make_examples(200, 1))
    write_tsv(folder / "dev.tsv", make_examples(40, 2))
    write_tsv(folder / "test.tsv", make_examples(40, 3))
    (folder / "my-recipe.yaml").write_text(yaml.safe_dump({
        "task": "classification", "data": {"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv", "tokenizer": "whitespace"},
        "model": {"name": "rnn_classifier", "cell": "gru", "embed_dim": 16, "hidden_size": 16},
        "train": {"epochs": 2, "batch_size": 16, "lr": 0.02, "log_every": 0, "threads": 1}}), encoding="utf-8")
    return folder


def test_a_run_trained_from_the_parent_folder_evaluates_from_anywhere(tmp_path, monkeypatch, capsys):
    classifier_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["train", "clf/my-recipe.yaml", "--out", "clf/runs/my-recipe", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "1 thread " in err and "1 threads" not in err
    saved = yaml.safe_load((tmp_path / "clf/runs/my-recipe/recipe.yaml").read_text())
    assert Path(saved["data"]["train"]).is_absolute() and Path(saved["data"]["test"]) == tmp_path / "clf" / "test.tsv"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["evaluate", str(tmp_path / "clf/runs/my-recipe"), "--split", "test", "--json"]) == 0
    assert last_json(capsys)["n"] == 40


def test_predict_reads_the_text_column_of_a_labelled_file(tmp_path, capsys):
    folder = classifier_folder(tmp_path)
    assert main(["train", str(folder / "my-recipe.yaml"), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    capsys.readouterr()
    held = write_tsv(tmp_path / "heldout.tsv", [("the film was superb", "pos"), ("a dull plot", "neg")])
    assert main(["predict", str(tmp_path / "run"), "--input", str(held), "--json"]) == 0
    out, err = capsys.readouterr()
    texts = [p["text"] for p in json.loads(out.strip().splitlines()[-1])["predictions"]]
    assert texts == ["the film was superb", "a dull plot"]  # no header row, no label inside the text
    assert "column 'text'" in err
    jsonl = tmp_path / "heldout.jsonl"
    jsonl.write_text('{"review": "a superb film", "label": "pos"}\n', encoding="utf-8")
    assert main(["predict", str(tmp_path / "run"), "--input", str(jsonl), "--text-field", "review", "--json"]) == 0
    assert [p["text"] for p in last_json(capsys)["predictions"]] == ["a superb film"]
    lines = tmp_path / "plain.txt"
    lines.write_text("text\tlabel\n", encoding="utf-8")  # any other suffix: one text a line, as before
    assert main(["predict", str(tmp_path / "run"), "--input", str(lines), "--json"]) == 0
    assert [p["text"] for p in last_json(capsys)["predictions"]] == ["text\tlabel"]


def test_options_after_the_texts_and_an_empty_text(tmp_path, capsys, expect_error):
    folder = classifier_folder(tmp_path)
    assert main(["train", str(folder / "my-recipe.yaml"), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "run"), "--json", "a fine film", "very dull"]) == 0
    assert [p["text"] for p in last_json(capsys)["predictions"]] == ["a fine film", "very dull"]
    expect_error(["predict", tmp_path / "run", ""], "TEXT 1: empty text")


def test_a_minimal_seq2seq_recipe_monitors_a_metric_it_has(tmp_path, capsys):
    rng = random.Random(0)
    words = ["".join(rng.choices("abcdef", k=rng.randint(2, 5))) for _ in range(300)]
    for name, part in (("pairs.tsv", words[:250]), ("dev.tsv", words[250:])):
        (tmp_path / name).write_text("source\ttarget\n" + "".join(f"{w}\t{w[::-1]}\n" for w in part), encoding="utf-8")
    (tmp_path / "reverse.yaml").write_text(yaml.safe_dump({
        "task": "seq2seq", "data": {"train": "pairs.tsv", "dev": "dev.tsv", "test": "dev.tsv", "text_field": "source", "label_field": "target",
                                    "tokenizer": "character"},
        "model": {"name": "seq2seq", "embed_dim": 8, "hidden_size": 16}, "train": {"epochs": 1, "log_every": 0}}))
    assert main(["config", str(tmp_path / "reverse.yaml"), "--json"]) == 0
    train = last_json(capsys)["train"]
    assert (train["monitor"], train["monitor_mode"]) == ("bleu", "max")
    assert main(["train", str(tmp_path / "reverse.yaml"), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    assert (tmp_path / "run" / "model" / "config.json").is_file()
    g2p = {"task": "seq2seq", "data": {"train": "pairs.tsv", "dev": "dev.tsv", "metric": "g2p"}, "model": {"name": "seq2seq"},
           "train": {"monitor": "per"}}
    (tmp_path / "g2p.yaml").write_text(yaml.safe_dump(g2p))
    assert main(["config", str(tmp_path / "g2p.yaml"), "--json"]) == 0
    assert last_json(capsys)["train"]["monitor_mode"] == "min"  # an error rate, lower is better


def test_labels_that_differ_only_in_case_are_a_problem(tmp_path, capsys):
    rows = [(t, l if i % 3 else l.capitalize()) for i, (t, l) in enumerate(make_examples(60, 4))]
    path = write_tsv(tmp_path / "cased.tsv", rows)
    assert main(["data", "check", str(path), "--json"]) == 1
    problems = last_json(capsys)["reports"][str(path)]["problems"]
    assert any("differ only in case" in p and "'pos'" in p and "'Pos'" in p for p in problems), problems


def test_a_tagger_splits_raw_text_as_config_shows(tmp_path, capsys):
    rng = random.Random(5)
    sentences = []
    for _ in range(80):
        words = [(w, "NOUN") for w in rng.sample(["he", "film", "dog", "it"], 2)] + [("said", "VERB"), (",", "PUNCT"),
                                                                                      ("fine", "ADJ"), (".", "PUNCT")]
        sentences.append("\n".join(f"{w}\t{t}" for w, t in words))
    (tmp_path / "train.conll").write_text("\n\n".join(sentences) + "\n", encoding="utf-8")
    (tmp_path / "tagger.yaml").write_text(yaml.safe_dump({
        "task": "tagging", "data": {"train": "train.conll", "format": "conll"},
        "model": {"name": "tagger", "embed_dim": 8, "hidden_size": 8, "char_hidden": 4},
        "train": {"epochs": 1, "log_every": 0, "monitor": "accuracy"}}))
    assert main(["config", str(tmp_path / "tagger.yaml"), "--json"]) == 0
    assert last_json(capsys)["data"]["tokenizer"] == "treebank"
    assert main(["train", str(tmp_path / "tagger.yaml"), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    assert json.loads((tmp_path / "run/model/tokenizer.json").read_text())["name"] == "treebank"
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "run"), "He said, it's fine.", "--json"]) == 0
    assert last_json(capsys)["predictions"][0]["tokens"] == ["He", "said", ",", "it", "'s", "fine", "."]


def test_what_the_run_held_out_is_said_and_titles_name_the_file(tmp_path, monkeypatch, capsys):
    folder = classifier_folder(tmp_path)
    recipe = yaml.safe_load((folder / "my-recipe.yaml").read_text())
    del recipe["data"]["test"]
    (folder / "no-test.yaml").write_text(yaml.safe_dump(recipe))
    assert main(["train", str(folder / "no-test.yaml"), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "data test: no data.test file, so 20 examples of train.tsv are held out as test" in err
    assert "data dev:" not in err  # dev.tsv was given
    assert main(["evaluate", str(tmp_path / "run"), "--split", "dev"]) == 0
    out = capsys.readouterr().out
    assert f"on {folder / 'dev.tsv'}" in out and "train.tsv:dev" not in out
    assert main(["evaluate", str(tmp_path / "run"), "--split", "test"]) == 0
    assert f"on {folder / 'train.tsv'}:test" in capsys.readouterr().out


def test_piped_reports_keep_their_numbers_and_columns(tmp_path, capsys):
    folder = classifier_folder(tmp_path)
    assert main(["train", str(folder / "my-recipe.yaml"), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["explain", str(tmp_path / "run"), "the film was superb", "--method", "occlusion"]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if "occlusion" in l)
    assert [p.split("=")[0] for p in line.split()[1:]] == ["the", "film", "was", "superb"]
    assert all(float(p.split("=")[1]) == float(p.split("=")[1]) for p in line.split()[1:])  # the scores, as numbers
    assert main(["data", "check", str(folder / "my-recipe.yaml"), "--set", "data.tokenizer=character"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "tokens per text (min" in first and len(first) > 80  # one line, not wrapped at 80 columns
    assert main(["data", "list"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("│ chnsenticorp")]
    assert len(rows) == 1 and "…" not in rows[0]  # one row a dataset, no column cut short


def test_column_errors_name_the_fix(tmp_path):
    import pytest

    from seqlab.data.readers import DataFormatError, read_conll, read_examples

    cases = [("semi.tsv", "text;label\na;b\n", "tsv", "';'-separated (an Excel CSV)"),
             ("comma.csv", "text,label\na,b\n", "tsv", "set data.format: csv"),
             ("named.tsv", "review\tlabel\na\tb\n", "tsv", "set data.text_field to one of the columns")]
    for name, text, fmt, needle in cases:
        (tmp_path / name).write_text(text, encoding="utf-8")
        with pytest.raises(DataFormatError, match=needle.replace("(", r"\(").replace(")", r"\)")):
            read_examples(tmp_path / name, fmt)
    (tmp_path / "ud.conll").write_text("# sent_id = 1\n1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="set data.format: conllu"):
        read_conll(tmp_path / "ud.conll")


def test_a_tab_in_a_recipe_is_named(tmp_path, expect_error):
    (tmp_path / "tab.yaml").write_text("task: classification\ndata:\n\tdataset: mr\n", encoding="utf-8")
    expect_error(["config", tmp_path / "tab.yaml"], "tab.yaml:3", "a tab character; YAML indents and separates with spaces")


def test_data_check_of_pairs_reports_target_lengths_not_labels(tmp_path, capsys):
    (tmp_path / "pairs.tsv").write_text("source\ttarget\nabc\tc b a\nab\tb a\nab\tb x\n", encoding="utf-8")
    (tmp_path / "s2s.yaml").write_text(yaml.safe_dump({
        "task": "seq2seq", "data": {"train": "pairs.tsv", "dev": "pairs.tsv", "test": "pairs.tsv", "text_field": "source",
                                    "label_field": "target", "tokenizer": "character"}, "model": {"name": "seq2seq"}}))
    assert main(["data", "check", str(tmp_path / "s2s.yaml"), "--json"]) == 0
    report = last_json(capsys)["reports"][f"{tmp_path / 's2s.yaml'} train"]
    assert "labels" not in report and report["target_words"] == {"min": 2, "median": 2, "max": 3}
    assert report["sources_with_several_targets"] == 1 and report["tokens_per_text"]["max"] == 3


def test_a_refused_run_prints_only_its_error(tmp_path, capsys):
    folder = classifier_folder(tmp_path)
    assert main(["train", str(folder / "my-recipe.yaml"), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["train", str(folder / "my-recipe.yaml"), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "holds a trained model already" in err and "OpenMP" not in err


def test_the_training_log_checks_pairs_as_pairs():
    """A seq2seq run's data report does not read target texts as classes ('Ab' and 'ab' are two targets, fine)."""
    from types import SimpleNamespace

    from seqlab.data.readers import TextExample
    from seqlab.training.run import account

    pairs = [TextExample("x", "Ab"), TextExample("y", "ab"), TextExample("z", "ba")]
    task = SimpleNamespace(truncated=lambda examples: {}, paired_texts=True)
    report = account({"train": pairs, "dev": pairs, "test": pairs}, {}, task)
    assert report["train"]["problems"] == [] and report["train"]["target_words"]["max"] == 1
