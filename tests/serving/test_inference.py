"""seqlab.inference: one contract for every task, the same JSON from Python and the CLI, checked inputs."""

from __future__ import annotations

import json

import pytest
import torch

from seqlab import inference
from seqlab.cli.main import main


def cli_json(capsys, *argv) -> dict:
    assert main([str(a) for a in argv]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_classifier_answers_labels_with_probabilities_as_the_cli_does(models, capsys):
    predictor = inference.load(models["classifier"])
    out = predictor.predict(["a superb film about love", "a dull film about war"])
    assert [r["label"] for r in out] == ["pos", "neg"]
    for r in out:
        assert abs(sum(r["probabilities"].values()) - 1) < 1e-5 and r["probability"] == max(r["probabilities"].values())
        assert r["truncated"] is False
    long = predictor.predict("a superb film " * 10)[0]  # 30 tokens, the recipe's max_length is 12
    assert long["truncated"] is True
    assert cli_json(capsys, "predict", models["classifier"], "a superb film about love", "a dull film about war",
                    "--json")["predictions"] == out
    assert predictor.describe()["labels"] == ["neg", "pos"] and predictor.describe()["task"] == "classification"


def test_tagger_spans_carry_character_offsets(models):
    predictor = inference.load(models["tagger"])
    text = "the dog  ran and a big cat saw The Man"
    (r,) = predictor.predict([text])
    assert r["tokens"] == text.split() and len(r["tags"]) == len(r["tokens"])
    assert r["spans"], r
    for span in r["spans"]:
        assert text[span["start"]:span["end"]] == span["text"] == " ".join(r["tokens"][span["first"]:span["last"] + 1]) \
            or "  " in text[span["start"]:span["end"]]
        assert r["tags"][span["first"]].endswith(span["type"])
    covered = {i for s in r["spans"] for i in range(s["first"], s["last"] + 1)}
    assert covered == {i for i, t in enumerate(r["tags"]) if t != "O"}


def test_language_model_stream_equals_predict_and_options_are_checked(models):
    predictor = inference.load(models["lm"])
    options = {"max_tokens": 40, "seed": 3, "top_k": 5}
    (whole,) = predictor.predict(["to be"], options)
    events = list(predictor.stream("to be", options))
    assert "".join(e["text"] for e in events if "text" in e) == whole["text"] and events[-1]["result"] == whole
    assert len(events) > 2  # streamed in pieces, not at the end
    assert predictor.predict([""], {"max_tokens": 5, "seed": 1})[0]["prompt"] == ""  # an empty prompt is a prompt
    for options, needle in [({"top_p": 1.5}, "options.top_p: must be in (0, 1], got 1.5"),
                            ({"temperature": 0}, "options.temperature: must be in [0.01, 100], got 0.0"),
                            ({"temperature": float("nan")}, "options.temperature: expected a finite number"),
                            ({"top_k": 0}, "options.top_k: must be at least 1"),
                            ({"max_tokens": 10**6}, "options.max_tokens: 1,000,000 is over the limit of 1,000"),
                            ({"beam": 3}, "options.beam: unknown option for this model (known: condition, eos_stop"),
                            ({"stop": "x"}, "options.stop: expected a list of strings"),
                            ({"greedy": "yes"}, "options.greedy: expected true or false")]:
        with pytest.raises(ValueError, match=needle.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
            predictor.predict(["to be"], options)


@pytest.mark.parametrize("name", ["seq2seq", "transformer"])
def test_seq2seq_n_best_and_the_attention_beam_search_kept(models, name):
    predictor = inference.load(models[name])
    (r,) = predictor.predict(["abcd"], {"beam": 4, "n_best": 3, "attention": True})
    hyps = r["hypotheses"]
    assert len(hyps) == 3 and [h["score"] for h in hyps] == sorted((h["score"] for h in hyps), reverse=True)
    assert r["source_tokens"] == list("abcd")
    task, model = predictor.task, predictor.model
    for h in hyps:
        att = h["attention"]
        assert att["source"] == list("abcd") and len(att["weights"]) == len(att["target"]) == len(h["tokens"]) + h["finished"]
        assert all(abs(sum(row) - 1) < 1e-4 for row in att["weights"])
        # the same rows as the decoder fed this hypothesis's own tokens (teacher forcing): kept, not recomputed
        ids = [task.tgt_vocab.stoi[t] for t in h["tokens"]]
        src = torch.tensor([task.source_ids("abcd")])
        with torch.no_grad():
            state = model.start(1, (src, torch.tensor([src.size(1)])))
            _, state = model.step(state, torch.tensor([[task.tgt_vocab.bos_id, *ids][: len(att["target"])]]))
        assert torch.allclose(state.alignment[0], torch.tensor(att["weights"]), atol=1e-5)


def test_translate_show_attention_works_for_the_transformer(models, tmp_path, capsys):
    png = tmp_path / "att.png"
    assert main(["translate", str(models["transformer"]), "abc", "--png", str(png)]) == 0
    assert png.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("inputs, options, needle", [
    ([""], None, "inputs[0]: empty text"),
    (["   "], None, "inputs[0]: empty text"),
    ([], None, "inputs: empty list"),
    ([3], None, "inputs: expected a string or a list of strings"),
    (["ok"] * 300, None, "inputs: 300 texts, over the limit of 256 per call"),
    (["word " * 2001], None, "inputs[0]: 2,001 tokens, over the limit of 2,000 per text"),
    (["ok"], {"n_best": 2}, "options.n_best: unknown option for this model (known: explain)"),
    (["ok"], [1], "options: expected an object"),
])
def test_inputs_and_options_are_checked_with_one_line_errors(models, inputs, options, needle):
    predictor = inference.load(models["classifier"])
    with pytest.raises(ValueError) as err:
        predictor.predict(inputs, options)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_every_task_answers_through_predict_on_the_cli(models, capsys):
    for name, text in [("tagger", "the dog ran"), ("lm", "to be"), ("seq2seq", "abc")]:
        out = cli_json(capsys, "predict", models[name], text, "--json", "-o", "seed=1")  if name == "lm" else \
            cli_json(capsys, "predict", models[name], text, "--json")
        assert out["predictions"] == inference.load(models[name]).predict([text], {"seed": 1} if name == "lm" else None)


def test_seqlab_tag_refuses_other_tasks(models, expect_error):
    expect_error(["tag", models["classifier"], "the dog"], "`seqlab tag` needs a tagging model; this one is classification")
