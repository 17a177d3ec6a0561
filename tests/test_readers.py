import gzip

import pytest

from seqlab.data.readers import DataFormatError, read_examples, read_lines


def test_tsv_csv_jsonl_folder(tmp_path):
    (tmp_path / "a.tsv").write_text("label\ttext\npos\tgood film\nneg\t\n", encoding="utf-8")
    ex = read_examples(tmp_path / "a.tsv", "tsv")
    assert [(e.text, e.label) for e in ex] == [("good film", "pos"), ("", "neg")]  # empty text kept
    (tmp_path / "a.csv").write_text('text,label\n"a, quoted",x\n', encoding="utf-8")
    assert read_examples(tmp_path / "a.csv", "csv")[0].text == "a, quoted"
    (tmp_path / "a.jsonl").write_text('{"text": "hi", "label": 1}\n\n{"text": "yo", "label": 0}\n', encoding="utf-8")
    assert [(e.text, e.label) for e in read_examples(tmp_path / "a.jsonl", "jsonl")] == [("hi", "1"), ("yo", "0")]
    folder = tmp_path / "classes"
    folder.mkdir()
    (folder / "pos.txt").write_text("nice\n\ngreat\n", encoding="utf-8")
    (folder / "neg.txt").write_text("bad\n", encoding="utf-8")
    assert sorted((e.label, e.text) for e in read_examples(folder, "folder")) == [("neg", "bad"), ("pos", "great"), ("pos", "nice")]


@pytest.mark.parametrize("fmt,content,line", [
    ("tsv", "text\tlabel\nok\tpos\nmissing-a-column\nfine\tneg\n", 3),
    ("tsv", "text\tlabel\nok\tpos\nok\tpos\textra\n", 3),
    ("csv", "text,label\nok,pos\n,\n", 3),
    ("jsonl", '{"text": "a", "label": "x"}\n{"text": "b", "label": \n', 2),
    ("jsonl", '{"text": "a", "label": "x"}\n{"txt": "b", "label": "y"}\n', 2),
])
def test_malformed_line_names_file_and_line(tmp_path, fmt, content, line):
    path = tmp_path / f"bad.{fmt}"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataFormatError) as err:
        read_examples(path, fmt)
    assert str(err.value).startswith(f"{path}:{line}:")
    assert "\n" not in str(err.value)


def test_missing_column_and_missing_file(tmp_path):
    path = tmp_path / "x.tsv"
    path.write_text("sentence\tlabel\nhi\tpos\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"x.tsv:1: no column 'text'"):
        read_examples(path, "tsv")
    with pytest.raises(DataFormatError, match="no such file"):
        read_examples(tmp_path / "nope.tsv", "tsv")


def test_latin1_and_x85_are_not_line_breaks(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes(b"caf\xe9 ok\nwait\x85 what\n")
    assert read_lines(path, "latin-1") == ["café ok", "wait\x85 what"]
    with pytest.raises(DataFormatError, match=r"latin.txt:1:4: byte 0xe9 is not valid utf-8; .* data.encoding"):
        read_lines(path)  # no silent Latin-1: the first bad byte, where it is
    gz = tmp_path / "lines.txt.gz"
    gz.write_bytes(gzip.compress("a\r\nb\n".encode()))
    assert read_lines(gz) == ["a", "b"]
