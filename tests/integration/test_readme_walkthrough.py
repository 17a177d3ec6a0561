"""The README, top to bottom: every `seqlab` command of its bash blocks runs in order, at tiny sizes, in one fresh
folder — so each command finds what an earlier one wrote (a run directory, a vectors file, an export) under the
name the README gives it. Sizes shrink only by appended options (``--set train.epochs=1``, ``data.limit``,
``data.eval_limit``, fewer and smaller word2vec vectors); nothing else of a command changes. Lines that are not seqlab commands a test can run are
listed in SKIPPED with the reason; placeholders the README leaves to the reader (DIR, sentences.txt, corpus.txt,
my_digits.png, my-recipe.yaml and its files) are filled in here.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from seqlab import runtime
from seqlab.cli.main import main

ROOT = Path(__file__).parents[2]

#: the first word(s) of a README line → why the walk-through does not run it
SKIPPED = {
    "make": "sets up the virtual environment this test runs in",
    "source": "activates that environment", "export": "the test sets SEQLAB_DATA_DIR itself",
    "pip": "installs extras this environment has",
    "curl": "needs a running server: tests/serving/test_server.py drives every endpoint",
    "seqlab serve": "blocks serving: tests/serving/test_server.py and test_browser.py start it",
    "torchrun": "launches processes: tests/test_distributed.py runs the same through seqlab train --nproc",
    "seqlab train mr-bilstm --nproc": "two processes: tests/test_distributed.py",
}

#: options appended by the command's first words, so that it runs in seconds
TINY = {
    "seqlab quickstart": ["--set", "train.epochs=1", "--set", "data.limit=300", "--set", "data.eval_limit=100"],
    "seqlab train": ["--set", "train.epochs=1", "--set", "data.limit=60", "--set", "data.eval_limit=30",
                     "--set", "train.max_minutes=0.05", "--set", "train.eval_batch_size=64"],
    "seqlab embed train": ["--epochs", "1", "--min-count", "50", "--dim", "32"],
    "seqlab train recipes/mr-textcnn-w2v-static.yaml": ["--set", "model.embed_dim=32"],  # the vectors' size above
    "seqlab diagnose adding": ["--length", "10", "--set", "train.epochs=1", "--set", "data.limit=64"],
    "seqlab generate": ["--max-tokens", "20"],
}


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        block = block.replace("\\\n", " ")
        for line in block.splitlines():
            for part in line.split(" ; "):
                command = re.sub(r"\s+#.*$", "", part).strip()
                if command:
                    lines.append(command)
    return lines


def own_data(folder: Path) -> None:
    """The README's "Your own data" recipe and the files it names; the other placeholders."""
    recipe = re.search(r"```yaml\n# my-recipe.yaml\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S).group(1)
    (folder / "my-recipe.yaml").write_text(recipe, encoding="utf-8")
    rows = ["text\tlabel"] + [f"{w} film number {i}\t{'pos' if w == 'great' else 'neg'}"
                              for i in range(30) for w in ("great", "dull")]
    for split in ("train", "dev", "test"):
        (folder / f"{split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "sentences.txt").write_text("Taylor Swift sang in London\nso excited tonight\n", encoding="utf-8")
    (folder / "corpus.txt").write_text("\n".join(f"the film was {w} and the story {v}" for w in ("good", "bad", "long")
                                                 for v in ("moved", "bored", "ended") for _ in range(10)) + "\n",
                                       encoding="utf-8")


def test_the_readme_runs_top_to_bottom(tmp_path, monkeypatch, capsys):
    if runtime.data_dir() is None:
        pytest.skip("SEQLAB_DATA_DIR is unset: the README's commands train on the benchmark copies (make test sets it)")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "recipes").symlink_to(ROOT / "src" / "seqlab" / "recipes")
    own_data(tmp_path)
    monkeypatch.setenv("SEQLAB_PROGRESS", "0")
    ran, skipped = [], []
    for command in readme_commands():
        reason = next((why for start, why in SKIPPED.items() if command.startswith(start)), None)
        if reason:
            skipped.append(command)
            continue
        argv = shlex.split(command.replace(" DIR ", " runs/quickstart "))
        assert argv[0] == "seqlab", f"a README line that is neither a seqlab command nor skipped: {command}"
        if argv[1] == "caption" and "my_digits.png" in argv:  # a digit strip composed as the captioning data is
            from PIL import Image

            from seqlab.data.images import compose_digit_captions

            strip = compose_digit_captions("test", 1)[0]
            Image.fromarray((255 * strip.image[:, : strip.width]).astype("uint8")).save(tmp_path / "my_digits.png")
        extra = [x for start, more in TINY.items() if command.startswith(start) for x in more]
        code = main(argv[1:] + extra)
        out, err = capsys.readouterr()
        assert code == 0, f"`{command}` failed: {err.strip().splitlines()[-1] if err.strip() else out[-500:]}"
        assert "Traceback" not in err and "{'" not in out, f"`{command}` printed a traceback or a raw dict"
        ran.append(command)
    assert len(ran) >= 45 and len(skipped) <= 16, (len(ran), skipped)


def test_the_readme_own_data_recipes_train_and_serve_from_another_directory(tmp_path, monkeypatch, capsys):
    """The "Your own data" recipes of every task the README shows, written into mydata/ with their files, trained
    from the folder above and then evaluated and predicted from a third directory, as a new user would."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    mydata = tmp_path / "mydata"
    mydata.mkdir()
    own_data(mydata)  # my-recipe.yaml with train/dev/test.tsv
    tagged = "\n\n".join("\n".join(f"{w}\t{t}" for w, t in [(name, "B-PER"), ("sang", "O"), ("in", "O"), (place, "B-LOC")])
                         for name in ("Taylor", "Adele", "Bono") for place in ("London", "Paris", "Rome")) + "\n"
    pairs = "source\ttarget\n" + "".join(f"{w}\t{w[::-1]}\n" for w in ("abc", "bca", "cab", "abba", "cc", "bac") * 10)
    for name in ("train.conll", "dev.conll", "test.conll"):
        (mydata / name).write_text(tagged, encoding="utf-8")
    for name in ("pairs.tsv", "pairs-dev.tsv", "pairs-test.tsv"):
        (mydata / name).write_text(pairs, encoding="utf-8")
    for recipe_name in ("my-tagger.yaml", "my-seq2seq.yaml"):
        block = re.search(rf"```yaml\n# {re.escape(recipe_name)}\n(.*?)```", readme, re.S).group(1)
        (mydata / recipe_name).write_text(block, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEQLAB_PROGRESS", "0")
    for recipe_name, text in (("my-recipe.yaml", "a great film"), ("my-tagger.yaml", "Adele sang in Rome"),
                              ("my-seq2seq.yaml", "abc")):
        run = f"mydata/runs/{recipe_name.removesuffix('.yaml')}"
        assert main(["train", f"mydata/{recipe_name}", "--out", run, "--set", "train.epochs=1"]) == 0, recipe_name
        elsewhere = tmp_path / "elsewhere" / recipe_name
        elsewhere.mkdir(parents=True)
        monkeypatch.chdir(elsewhere)
        capsys.readouterr()
        assert main(["evaluate", str(tmp_path / run), "--split", "test", "--json"]) == 0, capsys.readouterr().err
        assert main(["predict", str(tmp_path / run), text, "--json"]) == 0, capsys.readouterr().err
        assert '"predictions"' in capsys.readouterr().out
        monkeypatch.chdir(tmp_path)
