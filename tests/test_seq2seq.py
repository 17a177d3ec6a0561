"""Encoder-decoder with attention: masked attention distributions, source reversal, incremental decoding
equal to the teacher-forced pass, beam search over the seq2seq decoder."""

import pytest
import torch

from seqlab.data.batching import pad
from seqlab.decoding import beam_search, generate
from seqlab.layers.attention import Attention
from seqlab.models.seq2seq import Seq2Seq, Seq2SeqConfig, reverse_within_lengths

CONFIGS = [
    {"attention": "none", "cell": "gru"},
    {"attention": "bahdanau", "cell": "gru"},
    {"attention": "dot", "cell": "lstm", "input_feeding": True},
    {"attention": "general", "cell": "lstm", "num_layers": 2},
    {"attention": "concat", "cell": "gru", "bidirectional": False, "input_feeding": True},
]


def model_for(cfg: dict, seed: int = 0) -> Seq2Seq:
    torch.manual_seed(seed)
    base = {"src_vocab_size": 20, "tgt_vocab_size": 16, "embed_dim": 8, "hidden_size": 10, "dropout": 0.0}
    return Seq2Seq(Seq2SeqConfig(**{**base, **cfg})).eval()


def batch():
    src, lengths = pad([[5, 6, 7, 8, 9], [10, 11], [12, 13, 14]], 0)
    tgt = torch.tensor([[2, 4, 5, 6], [2, 7, 8, 9], [2, 10, 4, 4]])
    return src, lengths, tgt


@pytest.mark.parametrize("kind", ["bahdanau", "dot", "general", "concat"])
def test_attention_is_a_distribution_over_the_unpadded_source(kind):
    torch.manual_seed(1)
    att = Attention(kind, 6, 6)
    keys = torch.randn(3, 7, 6)
    lengths = torch.tensor([7, 2, 4])
    mask = torch.arange(7)[None, :] < lengths[:, None]
    context, weights = att(torch.randn(3, 6), keys, mask)
    assert torch.allclose(weights.sum(-1), torch.ones(3))
    assert (weights[~mask] == 0).all() and (weights[mask] > 0).all()
    assert torch.allclose(context, (weights.unsqueeze(-1) * keys).sum(1), atol=1e-6)
    keys2 = keys.clone()
    keys2[~mask] = 1e3  # whatever sits in the padding changes nothing
    assert torch.allclose(att(context[:, :6] * 0 + 1, keys, mask)[0], att(context[:, :6] * 0 + 1, keys2, mask)[0], atol=1e-5)


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: c["attention"])
def test_incremental_decoding_equals_the_teacher_forced_pass(cfg):
    model = model_for(cfg)
    src, lengths, tgt = batch()
    full = model(src, lengths, tgt)
    state = model.start(3, (src, lengths))
    steps = []
    for t in range(tgt.size(1)):
        logits, state = model.step(state, tgt[:, t : t + 1])
        steps.append(logits)
    assert torch.allclose(full, torch.stack(steps, 1), atol=1e-5)
    if cfg["attention"] != "none":
        assert state.alignment.shape == (3, 4, 5)
        assert torch.allclose(state.alignment.sum(-1), torch.ones(3, 4), atol=1e-6)
        assert (state.alignment[1, :, 2:] == 0).all()  # the second source has 2 tokens


def test_source_reversal_is_applied_identically_in_training_and_inference():
    src, lengths, tgt = batch()
    reversed_src = reverse_within_lengths(src, lengths)
    assert reversed_src.tolist() == [[9, 8, 7, 6, 5], [11, 10, 0, 0, 0], [14, 13, 12, 0, 0]]
    plain = model_for({"attention": "bahdanau"})
    flipped = model_for({"attention": "bahdanau", "reverse_source": True})
    flipped.load_state_dict(plain.state_dict())
    assert torch.allclose(flipped(src, lengths, tgt), plain(reversed_src, lengths, tgt), atol=1e-6)  # training
    a = list(generate(flipped, flipped.start(3, (src, lengths)), tgt[:, :1], 6, greedy=True))
    b = list(generate(plain, plain.start(3, (reversed_src, lengths)), tgt[:, :1], 6, greedy=True))
    assert all(torch.equal(x, y) for x, y in zip(a, b))  # inference


def test_teacher_forcing_mask_feeds_predictions():
    model = model_for({"attention": "bahdanau"})
    src, lengths, tgt = batch()
    forced = model(src, lengths, tgt, teacher=torch.tensor([True, True, True, True]))
    assert torch.allclose(forced, model(src, lengths, tgt))
    free = model(src, lengths, tgt, teacher=torch.tensor([True, False, False, False]))
    greedy = torch.stack(list(generate(model, model.start(3, (src, lengths)), tgt[:, :1], 3, greedy=True)), 1)
    assert torch.equal(free.argmax(-1)[:, :3], greedy)  # fed its own predictions, it decodes greedily


def test_beam_search_runs_on_the_seq2seq_decoder():
    model = model_for({"attention": "general", "cell": "lstm"})
    src, lengths, tgt = batch()
    out = beam_search(model, model.start(3, (src, lengths)), tgt[:, :1], beam=4, eos_id=3,
                      max_len=lengths * 2, n_best=2)
    greedy = beam_search(model, model.start(3, (src, lengths)), tgt[:, :1], beam=1, eos_id=3, max_len=lengths * 2)
    for row, g in zip(out, greedy):
        assert len(row) == 2 and row[0].score >= row[1].score


def test_g2p_error_rates_and_bleu_match_their_definitions():
    import sacrebleu

    from seqlab.metrics import corpus_bleu, g2p_error_rates

    refs = {"read": [["R", "IY1", "D"], ["R", "EH1", "D"]], "cat": [["K", "AE1", "T"]], "a": [["AH0"]]}
    hyps = {"read": ["R", "EH1", "D"], "cat": ["K", "AE1"], "a": ["EY1", "AH0"]}
    scores = g2p_error_rates(refs, hyps)
    assert scores["wer"] == pytest.approx(2 / 3)  # "read" matches its second pronunciation
    assert scores["per"] == pytest.approx((0 + 1 + 1) / (3 + 3 + 1))
    hyp = ["the cat sat on the mat .", "a dog runs"]
    ref = ["the cat sat on a mat .", "the dog runs fast"]
    ours = corpus_bleu(hyp, ref)
    assert ours["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyp, [ref]).score)
    assert ours["chrf"] == pytest.approx(sacrebleu.corpus_chrf(hyp, [ref]).score)
    assert ours["bleu_signature"].startswith("nrefs:1")


def test_seq2seq_learns_to_reverse_and_translate_cli(tmp_path, capsys):
    import json
    import random

    import yaml

    from seqlab.cli.main import main

    rng = random.Random(0)
    letters = "abcdefgh"

    def rows(n):
        out = ["source\ttarget"]
        for _ in range(n):
            word = "".join(rng.choices(letters, k=rng.randint(2, 6)))
            out.append(f"{word}\t{' '.join(reversed(word.upper()))}")
        return "\n".join(out) + "\n"

    for split, n in (("train", 1500), ("dev", 100), ("test", 100)):
        (tmp_path / f"{split}.tsv").write_text(rows(n), encoding="utf-8")
    recipe = {"task": "seq2seq",
              "data": {**{s: str(tmp_path / f"{s}.tsv") for s in ("train", "dev", "test")}, "text_field": "source",
                       "label_field": "target", "tokenizer": "character", "target_tokenizer": "whitespace",
                       "lowercase": False, "metric": "g2p"},
              "model": {"name": "seq2seq", "embed_dim": 16, "hidden_size": 32, "attention": "dot", "cell": "gru",
                        "input_feeding": True, "dropout": 0.0, "teacher_forcing": 0.9},
              "train": {"epochs": 8, "batch_size": 32, "lr": 0.005, "monitor": "wer", "monitor_mode": "min",
                        "patience": None, "log_every": 0}}
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    assert main(["train", str(path), "--out", str(tmp_path / "run"), "--no-progress", "--json"]) == 0
    results = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert results["test"]["wer"] < 0.2 and results["test"]["per"] < 0.05
    png = tmp_path / "att.png"
    assert main(["translate", str(tmp_path / "run"), "abcd", "hgf", "--beam", "3", "--show-attention", str(png)]) == 0
    assert capsys.readouterr().out.splitlines() == ["D C B A", "F G H"]
    assert png.read_bytes().startswith(b"\x89PNG")
    assert main(["evaluate", str(tmp_path / "run"), "--beam", "4", "--json"]) == 0
    beam = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert beam["beam"] == 4 and beam["wer"] <= results["test"]["wer"] + 0.02


@pytest.mark.parametrize("cfg", CONFIGS[1:3], ids=lambda c: c["attention"])
def test_seq2seq_beam_width_one_is_greedy(cfg):
    model = model_for(cfg, seed=5)
    src, lengths, tgt = batch()
    hyps = beam_search(model, model.start(3, (src, lengths)), tgt[:, :1], beam=1, eos_id=3, max_len=12)
    greedy = torch.stack(list(generate(model, model.start(3, (src, lengths)), tgt[:, :1], 12, greedy=True, eos_id=3)), 1)
    for row in range(3):
        tokens = greedy[row].tolist()
        assert hyps[row][0].tokens == (tokens[: tokens.index(3)] if 3 in tokens else tokens)


def test_aligned_files_are_read_as_pairs(tmp_path):
    from seqlab.config import ConfigError, DataConfig
    from seqlab.data.readers import DataFormatError
    from seqlab.tasks.seq2seq.task import read_pair_splits

    (tmp_path / "a.de").write_text("ein Hund\nzwei Katzen\n", encoding="utf-8")
    (tmp_path / "a.en").write_text("a dog\ntwo cats\n", encoding="utf-8")
    (tmp_path / "b.en").write_text("a dog\n", encoding="utf-8")
    pair = f"{tmp_path / 'a.de'},{tmp_path / 'a.en'}"
    splits = read_pair_splits(DataConfig(train=pair, dev=pair, test=pair, format="aligned"))
    assert [(e.text, e.label) for e in splits.train] == [("ein Hund", "a dog"), ("zwei Katzen", "two cats")]
    with pytest.raises(DataFormatError, match="b.en: 1 lines, but .*a.de has 2"):
        bad = f"{tmp_path / 'a.de'},{tmp_path / 'b.en'}"
        read_pair_splits(DataConfig(train=bad, dev=bad, test=bad, format="aligned"))
    with pytest.raises(ConfigError, match="source_file,target_file"):
        read_pair_splits(DataConfig(train="x", dev="x", test="x", format="aligned"))


@pytest.mark.parametrize("attention, cell, layers", [("dot", "gru", 1), ("general", "lstm", 2), ("concat", "rnn", 1)])
def test_fused_luong_training_equals_the_step_loop(attention, cell, layers):
    from seqlab.models.seq2seq import Seq2Seq, Seq2SeqConfig

    torch.manual_seed(4)
    model = Seq2Seq(Seq2SeqConfig(src_vocab_size=20, tgt_vocab_size=15, embed_dim=8, hidden_size=8, num_layers=layers,
                                  cell=cell, attention=attention, dropout=0.0)).double()
    src = torch.randint(4, 20, (5, 7))
    lengths = torch.tensor([7, 6, 3, 2, 1])
    src[torch.arange(7)[None] >= lengths[:, None]] = 0
    tgt = torch.randint(4, 15, (5, 6))
    calls = []
    step = model.decode_step
    model.decode_step = lambda *a: calls.append(1) or step(*a)
    fused = model(src, lengths, tgt)  # the fused path: Luong attention, no input feeding, full teacher forcing
    assert not calls  # it did not fall back to the per-step loop
    del model.decode_step
    state, steps = model.encode(src, lengths), []
    for t in range(6):
        logits, state = model.decode_step(tgt[:, t], state)
        steps.append(logits)
    assert torch.allclose(fused, torch.stack(steps, 1), atol=1e-10)
    fused.sum().backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    torch.stack(steps, 1).sum().backward()
    assert all(torch.allclose(a, p.grad, atol=1e-10) for a, p in zip(grads, model.parameters()))
