"""ONNX export: exact variable-length recurrent layers (ONNX's sequence_lens), parity with onnxruntime, the
exported directory used by predict / evaluate / serve, int8, and serving without torch."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

ort = pytest.importorskip("onnxruntime", reason="the onnx extra is not installed: pip install 'seqlab[onnx]'")

from seqlab import inference  # noqa: E402
from seqlab.cli.main import main  # noqa: E402
from seqlab.export.onnx import export  # noqa: E402
from seqlab.tasks.classification.onnx import graph as classifier_graph  # noqa: E402
from seqlab.tasks.language_model.onnx import graph as lm_graph  # noqa: E402
from seqlab.tasks.seq2seq.onnx import build_seq2seq  # noqa: E402
from seqlab.tasks.tagging.onnx import graph as tagger_graph  # noqa: E402
from seqlab.models.bow import BagOfWords, BagOfWordsConfig  # noqa: E402
from seqlab.models.classifier import RecurrentClassifier, RecurrentClassifierConfig, TextCNN, TextCNNConfig  # noqa: E402
from seqlab.models.language_model import RecurrentLM, RecurrentLMConfig  # noqa: E402
from seqlab.models.seq2seq import Seq2Seq, Seq2SeqConfig  # noqa: E402
from seqlab.models.tagger import Tagger, TaggerConfig  # noqa: E402


def ragged(batch: int, longest: int, vocab: int, generator: torch.Generator):
    lengths = torch.randint(1, longest + 1, (batch,), generator=generator)
    lengths[0] = longest
    ids = torch.randint(2, vocab, (batch, longest), generator=generator)
    ids[torch.arange(longest)[None] >= lengths[:, None]] = 0
    return ids, lengths


def run_onnx(proto, ids, lengths) -> np.ndarray:
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(["logits"], {"ids": ids.numpy(), "lengths": lengths.numpy()})[0]


@pytest.mark.parametrize("cell, bidirectional, layers, pooling",
                         list(itertools.product(["lstm", "gru", "rnn"], [True, False], [1, 2], ["last", "mean", "max", "attention"])))
def test_recurrent_classifier_matches_pytorch_on_ragged_batches(cell, bidirectional, layers, pooling):
    g = torch.Generator().manual_seed(hash((cell, bidirectional, layers, pooling)) % 2**31)
    model = RecurrentClassifier(RecurrentClassifierConfig(vocab_size=60, num_classes=3, embed_dim=8, hidden_size=6,
                                                          num_layers=layers, cell=cell, bidirectional=bidirectional,
                                                          pooling=pooling)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-0.6, 0.6, generator=g)
    proto = classifier_graph(model, "rnn_classifier")
    for _ in range(3):
        ids, lengths = ragged(6, 9, 60, g)
        with torch.no_grad():
            expected = model(ids, lengths).numpy()
        assert np.abs(run_onnx(proto, ids, lengths) - expected).max() < 1e-4


@pytest.mark.parametrize("multichannel", [False, True])
def test_textcnn_matches_pytorch_including_texts_shorter_than_its_widest_filter(multichannel):
    g = torch.Generator().manual_seed(5)
    model = TextCNN(TextCNNConfig(vocab_size=60, num_classes=2, embed_dim=8, maps=5, multichannel=multichannel)).eval()
    proto = classifier_graph(model, "textcnn")
    for longest in (9, 3, 1):
        ids, lengths = ragged(5, longest, 60, g)
        with torch.no_grad():
            expected = model(ids, lengths).numpy()
        assert np.abs(run_onnx(proto, ids, lengths) - expected).max() < 1e-4


@pytest.mark.parametrize("sublinear, lsa", [(False, 0), (True, 0), (False, 5)])
def test_bag_of_words_matches_pytorch_including_repeated_words_and_empty_texts(sublinear, lsa):
    g = torch.Generator().manual_seed(11 + lsa + sublinear)
    model = BagOfWords(BagOfWordsConfig(vocab_size=30, num_classes=3, sublinear_tf=sublinear, lsa_components=lsa)).eval()
    with torch.no_grad():
        for t in [model.idf, model.head.weight, model.head.bias] + ([model.lsa] if lsa else []):
            t.uniform_(0.1, 1.5, generator=g)
        model.idf[:4] = 0  # specials never count
    proto = classifier_graph(model, "bow")
    ids, lengths = ragged(7, 12, 12, g)  # a small vocabulary: words repeat within a text
    lengths[1] = 0
    with torch.no_grad():
        expected = model(ids, lengths).numpy()
    assert np.abs(run_onnx(proto, ids, lengths) - expected).max() < 1e-4


def test_exported_directory_answers_as_the_trained_model(models, tmp_path, capsys):
    out = tmp_path / "onnx"
    assert main(["export", str(models["classifier"]), "--out", str(out)]) == 0
    described = json.loads((out / "export.json").read_text())
    assert described["task"] == "classification" and described["files"]["labels"] == ["neg", "pos"]
    texts = ["a superb film about love", "a dull film about war", "a film " * 20]
    torch_out = inference.load(models["classifier"]).predict(texts)
    onnx_out = inference.load(out).predict(texts)
    for a, b in zip(torch_out, onnx_out):
        assert a["label"] == b["label"] and a["truncated"] == b["truncated"]
        assert all(abs(a["probabilities"][k] - b["probabilities"][k]) < 1e-4 for k in a["probabilities"])
    capsys.readouterr()
    data = models["classifier"].parent / "cls.tsv"
    for target in (models["classifier"], out):
        assert main(["evaluate", str(target), "--data", str(data), "--json"]) == 0
    scores = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()[-2:]]
    assert scores[0]["accuracy"] == scores[1]["accuracy"] and scores[1]["runtime"] == "onnxruntime"


def test_int8_export_keeps_the_accuracy(models, tmp_path, capsys):
    out = tmp_path / "int8"
    export(models["classifier"], out, int8=True)
    fp32 = tmp_path / "fp32"
    export(models["classifier"], fp32)
    assert (out / "model.onnx").stat().st_size < (fp32 / "model.onnx").stat().st_size
    data = str(models["classifier"].parent / "cls.tsv")
    accuracies = []
    for target in (fp32, out):
        assert main(["evaluate", str(target), "--data", data, "--json"]) == 0
        accuracies.append(json.loads(capsys.readouterr().out.strip().splitlines()[-1])["accuracy"])
    assert abs(accuracies[0] - accuracies[1]) <= 0.02


def test_an_export_is_served_without_importing_torch(models, tmp_path):
    out = tmp_path / "onnx"
    export(models["classifier"], out)
    code = (
        "import sys\n"
        "from seqlab import inference\n"
        "from seqlab.serving.app import create_app\n"
        "from fastapi.testclient import TestClient\n"
        f"p = inference.load({str(out)!r})\n"
        "client = TestClient(create_app([p]))\n"
        "r = client.post(f'/v1/{p.name}/predict', json={'inputs': ['a superb film']})\n"
        "assert r.status_code == 200 and r.json()['outputs'][0]['label'] in ('neg', 'pos'), r.text\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


@pytest.mark.parametrize("chars, cell, bidirectional",
                         list(itertools.product(["none", "cnn", "lstm"], ["lstm", "gru"], [True, False])))
def test_tagger_emissions_match_pytorch_on_ragged_batches(chars, cell, bidirectional):
    g = torch.Generator().manual_seed(11)
    model = Tagger(TaggerConfig(vocab_size=40, char_vocab_size=20, tags=["O", "B-X", "I-X"], embed_dim=6,
                                char_features=chars, char_embed_dim=4, char_hidden=5, cell=cell, hidden_size=7,
                                bidirectional=bidirectional, num_layers=2)).eval()
    session = ort.InferenceSession(tagger_graph(model, "tagger").SerializeToString(), providers=["CPUExecutionProvider"])
    ids, lengths = ragged(5, 7, 40, g)
    W = 6
    char_lengths = torch.randint(1, W + 1, ids.shape, generator=g) * (ids != 0)
    char_ids = torch.randint(2, 20, (*ids.shape, W), generator=g)
    char_ids[torch.arange(W)[None, None] >= char_lengths[..., None]] = 0
    with torch.no_grad():
        expected = model(ids, lengths, char_ids, char_lengths).numpy()
    feeds = {"ids": ids.numpy(), "lengths": lengths.numpy(), "chars": char_ids.numpy(), "char_lengths": char_lengths.numpy()}
    wanted = {i.name for i in session.get_inputs()}
    got = session.run(["emissions"], {k: v for k, v in feeds.items() if k in wanted})[0]
    real = (torch.arange(ids.size(1))[None] < lengths[:, None]).numpy()
    assert np.abs(got - expected)[real].max() < 1e-4


def test_exported_tagger_gives_the_same_tags_and_spans(models, tmp_path, capsys):
    out = tmp_path / "tagger-onnx"
    assert main(["export", str(models["tagger"]), "--out", str(out)]) == 0
    texts = ["the dog ran and a big cat saw The Man", "sat", "The Man saw the dog sat a big cat ran"]
    assert inference.load(out).predict(texts) == inference.load(models["tagger"]).predict(texts)
    capsys.readouterr()
    assert main(["tag", str(out), texts[0], "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["sentences"][0]["tags"]
    data = str(models["tagger"].parent / "tags.conll")
    scores = []
    for target in (models["tagger"], out):  # the same CoNLL file scored through torch and through onnxruntime
        assert main(["evaluate", str(target), "--data", data, "--json"]) == 0
        scores.append(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))
    assert {k: scores[0][k] for k in ("accuracy", "f1", "n", "tokens")} == {k: scores[1][k] for k in ("accuracy", "f1", "n", "tokens")}


@pytest.mark.parametrize("cell, layers, tie, conditions, softmax",
                         [*itertools.product(["lstm", "gru", "rnn"], [1, 2], ["no", "same size", "projected"], [0, 3], ["full"]),
                          *itertools.product(["lstm"], [1], ["no", "projected"], [0], ["adaptive"])])
def test_language_model_step_with_state_matches_pytorch(cell, layers, tie, conditions, softmax):
    g = torch.Generator().manual_seed(3)
    model = RecurrentLM(RecurrentLMConfig(vocab_size=30, embed_dim=6, hidden_size=8 if tie != "same size" else 6,
                                          num_layers=layers, cell=cell, tie_weights=tie != "no",
                                          num_conditions=conditions, condition_dim=4, softmax=softmax,
                                          cutoffs=[5, 12])).eval()
    session = ort.InferenceSession(lm_graph(model, "rnn_lm").SerializeToString(), providers=["CPUExecutionProvider"])
    ids = torch.randint(2, 30, (3, 6), generator=g)
    condition = torch.tensor([0, 2, 1]) if conditions else None
    with torch.no_grad():
        expected, hidden = model(ids, None, condition)
    h_expected = (hidden[0] if isinstance(hidden, tuple) else hidden).numpy()
    zeros = np.zeros((layers, 3, model.rnn.hidden_size), np.float32)
    state = {"h0": zeros, **({"c0": zeros} if cell == "lstm" else {}), **({"condition": condition.numpy()} if conditions else {})}
    # the prompt in one call, then the rest one token at a time, the state carried out and back in
    logits, *carried = session.run(None, {"ids": ids[:, :3].numpy(), **state})
    pieces = [logits]
    for t in range(3, 6):
        state = {**state, "h0": carried[0], **({"c0": carried[1]} if cell == "lstm" else {})}
        logits, *carried = session.run(None, {"ids": ids[:, t:t + 1].numpy(), **state})
        pieces.append(logits)
    assert np.abs(np.concatenate(pieces, 1) - expected.numpy()).max() < 1e-4
    assert np.abs(carried[0] - h_expected).max() < 1e-4


def test_exported_language_model_generates_greedily_as_pytorch_and_streams(models, tmp_path):
    out = tmp_path / "lm-onnx"
    export(models["lm"], out)
    options = {"greedy": True, "max_tokens": 40}
    exported = inference.load(out)
    assert exported.predict(["to be", ""], options) == inference.load(models["lm"]).predict(["to be", ""], options)
    sampled = {"seed": 5, "max_tokens": 30, "top_k": 5}
    events = list(exported.stream("to be", sampled))
    assert "".join(e["text"] for e in events if "text" in e) == events[-1]["result"]["text"] == \
        exported.predict(["to be"], sampled)[0]["text"]  # the same seed, the same text
    with pytest.raises(ValueError, match=r"options.top_p: must be in \(0, 1\]"):
        exported.predict(["x"], {"top_p": 2.0})


def _scores(capsys, argv: list[str]) -> dict:
    capsys.readouterr()
    assert main(argv + ["--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_exported_language_model_evaluates_to_the_runs_perplexity(models, tmp_path, capsys):
    out = tmp_path / "lm-onnx"
    export(models["lm"], out)
    ours, theirs = (_scores(capsys, ["evaluate", str(d), "--split", "dev"]) for d in (out, models["lm"]))
    assert ours["tokens"] == theirs["tokens"] > 0 and abs(ours["perplexity"] - theirs["perplexity"]) < 1e-4
    recorded = json.loads((models["lm"] / "results.json").read_text())  # the recipe's eval_batch_size, as in training
    assert abs(ours["perplexity"] - recorded["dev"]["perplexity"]) < 1e-4


@pytest.mark.parametrize("beam", [None, 2])
def test_exported_seq2seq_evaluates_as_the_trained_model(models, tmp_path, capsys, beam):
    out = tmp_path / "s2s-onnx"
    export(models["seq2seq"], out)
    more = ["--beam", str(beam)] if beam else []
    ours, theirs = (_scores(capsys, ["evaluate", str(d), *more]) for d in (out, models["seq2seq"]))
    assert ours["runtime"] == "onnxruntime" and ours["beam"] == theirs["beam"] == (beam or 3)
    assert {k: ours[k] for k in ("wer", "per", "words", "n")} == {k: theirs[k] for k in ("wer", "per", "words", "n")}


SEQ2SEQ = [(cell, attention, feeding, layers, bidirectional, reverse)
           for cell, attention, feeding, layers, bidirectional, reverse in itertools.product(
               ["gru", "lstm", "rnn"], ["none", "bahdanau", "dot", "general", "concat"], [False, True], [1, 2],
               [True, False], [False, True])
           if not (feeding and attention in ("none", "bahdanau")) and (layers == 1 or bidirectional)]


@pytest.mark.parametrize("cell, attention, feeding, layers, bidirectional, reverse", SEQ2SEQ)
def test_seq2seq_encoder_and_decoder_step_match_pytorch(cell, attention, feeding, layers, bidirectional, reverse):
    torch.manual_seed(7)
    model = Seq2Seq(Seq2SeqConfig(src_vocab_size=20, tgt_vocab_size=15, embed_dim=6, hidden_size=8, num_layers=layers,
                                  cell=cell, bidirectional=bidirectional, attention=attention, input_feeding=feeding,
                                  dropout=0.0, reverse_source=reverse)).eval()
    encoder, decoder = (ort.InferenceSession(p.SerializeToString(), providers=["CPUExecutionProvider"])
                        for p in build_seq2seq(model))
    g = torch.Generator().manual_seed(1)
    src, lengths = ragged(4, 6, 20, g)
    tgt = torch.randint(2, 15, (4, 5), generator=g)
    with torch.no_grad():
        expected = model(src, lengths, tgt).numpy()
        state_t = model.encode(src, lengths)
    names = [o.name for o in encoder.get_outputs()]
    state = dict(zip(names, encoder.run(None, {"src": src.numpy(), "lengths": lengths.numpy()})))
    if feeding:
        state["feed"] = np.zeros((4, 8), np.float32)
    wanted, outputs, logits = {i.name for i in decoder.get_inputs()}, [o.name for o in decoder.get_outputs()], []
    weights = []
    for t in range(tgt.size(1)):
        out = dict(zip(outputs, decoder.run(None, {**{k: v for k, v in state.items() if k in wanted}, "token": tgt[:, t].numpy()})))
        logits.append(out["logits"])
        weights.append(out.get("weights"))
        state.update(h0=out["h_n"], **({"c0": out["c_n"]} if "c_n" in out else {}), **({"feed": out["feed_n"]} if "feed_n" in out else {}))
    assert np.abs(np.stack(logits, 1) - expected).max() < 1e-4
    if attention != "none":  # the attention rows, as the torch decoder keeps them
        with torch.no_grad():
            _, final = model.step(state_t, torch.cat([tgt[:, :1], tgt[:, 1:]], 1))
        assert np.abs(np.stack(weights, 1) - final.alignment.numpy()).max() < 1e-4


@pytest.mark.parametrize("options", [{}, {"beam": 4, "n_best": 3, "attention": True, "penalty": "gnmt"}])
def test_exported_seq2seq_decodes_as_pytorch(models, tmp_path, options):
    out = tmp_path / "s2s-onnx"
    export(models["seq2seq"], out)
    texts = ["abcd", "hgf", "a", "bad"]
    ours, theirs = inference.load(out).predict(texts, options), inference.load(models["seq2seq"]).predict(texts, options)
    for a, b in zip(ours, theirs):
        assert [h["text"] for h in a["hypotheses"]] == [h["text"] for h in b["hypotheses"]]
        for x, y in zip(a["hypotheses"], b["hypotheses"]):
            assert abs(x["score"] - y["score"]) < 1e-4
            if "attention" in y:
                assert np.abs(np.array(x["attention"]["weights"]) - np.array(y["attention"]["weights"])).max() < 1e-4


def test_export_refuses_what_it_cannot_export(models, tmp_path, expect_error):
    from seqlab.models.bow import BagOfWords, BagOfWordsConfig

    with pytest.raises(ValueError, match="model 'lm' is not an exportable classifier"):  # a name the family lacks
        classifier_graph(BagOfWords(BagOfWordsConfig(vocab_size=5, num_classes=2)), "lm")
    expect_error(["export", str(tmp_path / "nothing-here"), "--out", str(tmp_path / "x")], "nothing-here")


@pytest.mark.parametrize("pre_norm, positions, layers", [(True, "sinusoidal", 2), (False, "learned", 1)])
def test_transformer_encoder_and_cached_step_match_pytorch(pre_norm, positions, layers):
    from seqlab.tasks.seq2seq.onnx import build_transformer
    from seqlab.models.transformer import TransformerConfig, TransformerSeq2Seq

    torch.manual_seed(8)
    model = TransformerSeq2Seq(TransformerConfig(src_vocab_size=20, tgt_vocab_size=15, d_model=16, heads=4, layers=layers,
                                                 d_ff=32, dropout=0.0, pre_norm=pre_norm, positions=positions)).eval()
    encoder, decoder = (ort.InferenceSession(p.SerializeToString(), providers=["CPUExecutionProvider"])
                        for p in build_transformer(model))
    src, lengths = ragged(4, 6, 20, torch.Generator().manual_seed(2))
    names = [o.name for o in encoder.get_outputs()]
    state = dict(zip(names, encoder.run(None, {"src": src.numpy(), "lengths": lengths.numpy()})))
    for i in range(layers):
        state[f"k{i}"] = state[f"v{i}"] = np.zeros((4, 4, 0, 4), np.float32)
    state["prefix_mask"] = np.zeros((4, 0), bool)
    wanted, outputs = {i.name for i in decoder.get_inputs()}, [o.name for o in decoder.get_outputs()]
    tokens = torch.randint(2, 15, (4, 5))
    with torch.no_grad():
        torch_state = model.start(4, (src, lengths))
        for t in range(5):
            logits, torch_state = model.step(torch_state, tokens[:, t:t + 1])
            out = dict(zip(outputs, decoder.run(None, {**{k: v for k, v in state.items() if k in wanted},
                                                       "token": tokens[:, t].numpy()})))
            state.update({k[:-2]: v for k, v in out.items() if k.endswith("_n")})
            assert np.abs(out["logits"] - logits.numpy()).max() < 1e-4
            assert np.abs(out["weights"] - torch_state.alignment[:, -1].numpy()).max() < 1e-5


def test_exported_transformer_decodes_as_pytorch(models, tmp_path):
    out = tmp_path / "tf-onnx"
    export(models["transformer"], out)
    texts = ["abcd", "hgf", "a", "bad"]
    options = {"beam": 4, "n_best": 3, "attention": True}
    ours, theirs = inference.load(out).predict(texts, options), inference.load(models["transformer"]).predict(texts, options)
    for a, b in zip(ours, theirs):
        assert [h["text"] for h in a["hypotheses"]] == [h["text"] for h in b["hypotheses"]]
        for x, y in zip(a["hypotheses"], b["hypotheses"]):
            assert abs(x["score"] - y["score"]) < 1e-4
            assert np.abs(np.array(x["attention"]["weights"]) - np.array(y["attention"]["weights"])).max() < 1e-4


def test_an_export_carries_a_manifest_and_a_changed_graph_is_refused(models, tmp_path):
    from seqlab.serving.onnx_predictor import load_export

    out = tmp_path / "export"
    export(models["classifier"], out)
    meta = json.loads((out / "export.json").read_text())
    assert set(meta["manifest"]) == {"model.onnx"} and len(meta["manifest"]["model.onnx"]["sha256"]) == 64
    load_export(out)
    graph = out / "model.onnx"
    graph.write_bytes(graph.read_bytes()[:-1] + b"\0")
    with pytest.raises(ValueError, match="model.onnx: sha256 differs from the one saved"):
        load_export(out)
