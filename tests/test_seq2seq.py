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
