"""Models and decoding create their tensors on the device of their inputs, never on torch's default device.

What the check proves: the models are built and fed on the CPU, then run — training forward and loss, the CRF,
beam search, sampling — with torch's default device set to ``meta``. A tensor made without ``device=`` (or not
derived from an input with ``new_*`` / ``*_like``) would land on ``meta`` and the next operation mixing it with
the CPU tensors fails. So every tensor these paths create follows its inputs: the same code runs on CUDA or MPS
when model and batch are moved there. (It does not prove the speed or the kernels of another device.)
"""

from __future__ import annotations

import pytest
import torch

from seqlab.decoding import beam_search
from seqlab.decoding.sampling import generate
from seqlab.models.captioner import Captioner, CaptionerConfig
from seqlab.models.classifier import RecurrentClassifier, RecurrentClassifierConfig, TextCNN, TextCNNConfig
from seqlab.models.language_model import RecurrentLM, RecurrentLMConfig
from seqlab.models.seq2seq import Seq2Seq, Seq2SeqConfig
from seqlab.models.tagger import Tagger, TaggerConfig
from seqlab.models.transformer import TransformerConfig, TransformerSeq2Seq


def batch(B=3, T=6, V=20):
    with torch.device("cpu"):  # inputs on the CPU, whatever the default
        g = torch.Generator().manual_seed(0)
        lengths = torch.tensor([T, T - 2, 1][:B])
        ids = torch.randint(4, V, (B, T), generator=g)
        ids[torch.arange(T)[None] >= lengths[:, None]] = 0
    return ids, lengths


@pytest.fixture
def default_meta():
    from seqlab.layers.bptt import onednn_matmul_available

    onednn_matmul_available()  # probed on the CPU first, so the recurrent layers route as they do in a real run
    with torch.device("meta"):
        yield
    assert torch.empty(1).device.type == "cpu"


@pytest.mark.parametrize("path", ["native", "equation", "autograd"])
@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn_tanh"])
def test_every_route_of_the_recurrent_layer_follows_its_inputs(default_meta, path, cell):
    from seqlab.layers.recurrent import RecurrentLayer

    with torch.device("cpu"):
        layer = RecurrentLayer(cell, 6, 5, num_layers=2, bidirectional=True, batch_first=True, path=path)
        x = torch.randn(3, 7, 6, requires_grad=True)
        lengths = torch.tensor([7, 4, 1])
    for given in (lengths, None):
        out, _ = layer(x, lengths=given)
        out.sum().backward()
    assert x.grad.device.type == "cpu"


def test_classifiers_and_tagger_follow_their_inputs(default_meta):
    ids, lengths = batch()
    with torch.device("cpu"):
        models = [RecurrentClassifier(RecurrentClassifierConfig(vocab_size=20, num_classes=3, embed_dim=8, hidden_size=8,
                                                                pooling=p)) for p in ("last", "mean", "max", "attention")]
        models.append(TextCNN(TextCNNConfig(vocab_size=20, num_classes=3, embed_dim=8, maps=4)))
        tagger = Tagger(TaggerConfig(vocab_size=20, char_vocab_size=10, tags=["O", "B-NP", "I-NP"], embed_dim=8,
                                     hidden_size=8, char_hidden=4, crf=True))
        chars = torch.randint(2, 10, (3, 6, 4))
        char_lengths = torch.full((3, 6), 4)
    for model in models:
        assert model(ids, lengths).device.type == "cpu"
    emissions = tagger(ids, lengths, chars, char_lengths)
    mask = torch.arange(6, device=ids.device)[None] < lengths[:, None]
    tagger.crf(emissions, torch.zeros_like(ids), mask).mean().backward()
    assert len(tagger.crf.decode(emissions, mask)) == 3


@pytest.mark.parametrize("attention, feeding, reverse", [("bahdanau", False, False), ("dot", True, True), ("none", False, False)])
def test_seq2seq_trains_and_beam_searches_on_its_inputs_device(default_meta, attention, feeding, reverse):
    src, lengths = batch()
    with torch.device("cpu"):
        model = Seq2Seq(Seq2SeqConfig(src_vocab_size=20, tgt_vocab_size=15, embed_dim=8, hidden_size=8, attention=attention,
                                      input_feeding=feeding, reverse_source=reverse, dropout=0.0))
        tgt = torch.randint(4, 15, (3, 5))
        prompt = torch.full((3, 1), 2)
    model(src, lengths, tgt).sum().backward()
    found = beam_search(model, model.start(3, (src, lengths)), prompt, 3, 3, (lengths * 2 + 3), "average",
                        n_best=2, keep_alignment=attention != "none")
    assert len(found) == 3 and all(h[0].tokens is not None for h in found)


def test_transformer_and_captioner_decode_on_their_inputs_device(default_meta):
    src, lengths = batch()
    with torch.device("cpu"):
        transformer = TransformerSeq2Seq(TransformerConfig(src_vocab_size=20, tgt_vocab_size=15, d_model=16, heads=2, layers=1,
                                                    d_ff=32, dropout=0.0))
        captioner = Captioner(CaptionerConfig(vocab_size=15, channels=[4, 8], embed_dim=8, hidden_size=8))
        images, widths = torch.rand(2, 1, 20, 72), torch.tensor([72, 40])
        tgt, prompt = torch.randint(4, 15, (3, 5)), torch.full((3, 1), 2)
    transformer(src, lengths, tgt).sum().backward()
    assert len(beam_search(transformer, transformer.start(3, (src, lengths)), prompt, 2, 3, 8, keep_alignment=True)) == 3
    logits, _ = captioner(images, widths, tgt[:2])
    logits.sum().backward()
    assert len(beam_search(captioner, captioner.start(2, (images, widths)), prompt[:2], 2, 3, 6)) == 2


@pytest.mark.parametrize("conditions", [0, 2])
def test_language_model_samples_on_its_inputs_device(default_meta, conditions):
    ids, _ = batch()
    with torch.device("cpu"):
        model = RecurrentLM(RecurrentLMConfig(vocab_size=20, embed_dim=8, hidden_size=8, num_layers=2, tie_weights=False,
                                              num_conditions=conditions))
        condition = torch.tensor([0, 1, 1]) if conditions else None
        prompt = torch.full((3, 2), 5)
    logits, _ = model(ids, None, condition)
    logits.sum().backward()
    tokens = list(generate(model, model.start(3, condition), prompt, 6, top_k=5, top_p=0.9, seed=1, banned=[0, 2]))
    assert len(tokens) == 6 and tokens[0].device.type == "cpu"


def test_device_choice_and_its_one_line_refusal(write_recipe, tmp_path, capsys):
    from seqlab import runtime
    from seqlab.cli.main import main

    assert runtime.device("cpu").type == "cpu"
    assert runtime.device("auto").type == ("cuda" if torch.cuda.is_available() else runtime.device("auto").type)
    recipe = str(write_recipe(epochs=1))
    assert main(["train", recipe, "--out", str(tmp_path / "run"), "--device", "cpu", "--json"]) == 0
    import json

    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["device"] == "cpu"
    assert main(["predict", str(tmp_path / "run"), "a fine film", "--device", "cpu", "--json"]) == 0
    capsys.readouterr()
    if not torch.cuda.is_available():  # refused before any data is read, naming the way out
        assert main(["train", recipe, "--out", str(tmp_path / "gpu"), "--device", "cuda"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "device cuda: not available here" in err[0] and "--device cpu" in err[0]
        assert not (tmp_path / "gpu" / "recipe.yaml").exists()
        assert main(["predict", str(tmp_path / "run"), "a fine film", "--device", "cuda"]) == 2
        assert "device cuda: not available here" in capsys.readouterr().err
    else:  # where a GPU is lent: the same run trains and predicts there
        assert main(["train", recipe, "--out", str(tmp_path / "gpu"), "--device", "cuda", "--json"]) == 0
        assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["device"].startswith("cuda")
        assert main(["predict", str(tmp_path / "gpu"), "a fine film", "--device", "cuda", "--json"]) == 0
