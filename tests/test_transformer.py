"""Transformer: the causal mask (a later token never changes an earlier output), padding masks, incremental
decoding equal to the full pass, multi-head attention against torch.nn.MultiheadAttention."""

import pytest
import torch

from seqlab.data.batching import pad
from seqlab.decoding import beam_search
from seqlab.layers.transformer import MultiHeadAttention, sinusoidal_positions
from seqlab.models.transformer import TransformerConfig, TransformerSeq2Seq


def model_for(pre_norm=True, positions="sinusoidal", seed=0) -> TransformerSeq2Seq:
    torch.manual_seed(seed)
    cfg = TransformerConfig(src_vocab_size=20, tgt_vocab_size=18, d_model=16, heads=4, layers=2, d_ff=32,
                            dropout=0.0, pre_norm=pre_norm, positions=positions, max_length=64)
    return TransformerSeq2Seq(cfg).eval()


@pytest.mark.parametrize("pre_norm", [True, False])
def test_causal_mask_keeps_later_tokens_from_changing_earlier_outputs(pre_norm):
    model = model_for(pre_norm)
    src, lengths = pad([[5, 6, 7, 8], [9, 10]], 0)
    tgt = torch.randint(4, 18, (2, 7))
    base = model(src, lengths, tgt)
    for t in range(1, 7):
        changed = tgt.clone()
        changed[:, t:] = torch.randint(4, 18, changed[:, t:].shape)
        out = model(src, lengths, changed)
        assert torch.allclose(out[:, :t], base[:, :t], atol=1e-5)  # positions before t unchanged
        assert not torch.allclose(out[:, t:], base[:, t:], atol=1e-5)


def test_source_padding_is_invisible():
    model = model_for()
    src, lengths = pad([[5, 6, 7, 8], [9, 10]], 0)
    tgt = torch.randint(4, 18, (2, 5))
    noisy = src.clone()
    noisy[1, 2:] = 13  # junk where the second source is padding
    assert torch.allclose(model(src, lengths, tgt), model(noisy, lengths, tgt), atol=1e-5)
    alone = model(src[1:, :2], lengths[1:], tgt[1:])
    assert torch.allclose(model(src, lengths, tgt)[1:], alone, atol=1e-5)


@pytest.mark.parametrize("positions", ["sinusoidal", "learned"])
def test_incremental_decoding_equals_the_full_pass(positions):
    model = model_for(positions=positions)
    src, lengths = pad([[5, 6, 7, 8], [9, 10]], 0)
    tgt = torch.randint(4, 18, (2, 6))
    full = model(src, lengths, tgt)
    state = model.start(2, (src, lengths))
    for t in range(6):
        logits, state = model.step(state, tgt[:, t : t + 1])
        assert torch.allclose(logits, full[:, t], atol=1e-5)
    assert state.alignment.shape == (2, 6, 4)
    assert torch.allclose(state.alignment.sum(-1), torch.ones(2, 6), atol=1e-5)
    assert (state.alignment[1, :, 2:] == 0).all()
    hyps = beam_search(model, model.start(2, (src, lengths)), tgt[:, :1], beam=3, eos_id=3, max_len=8, n_best=3)
    assert all(len(h) == 3 and h[0].score >= h[-1].score for h in hyps)


def test_multi_head_attention_equals_torch_nn():
    torch.manual_seed(3)
    ours = MultiHeadAttention(12, 3).double()
    ref = torch.nn.MultiheadAttention(12, 3, batch_first=True).double()
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([ours.q.weight, ours.k.weight, ours.v.weight]))
        ref.in_proj_bias.copy_(torch.cat([ours.q.bias, ours.k.bias, ours.v.bias]))
        ref.out_proj.weight.copy_(ours.o.weight)
        ref.out_proj.bias.copy_(ours.o.bias)
    q, kv = torch.randn(2, 5, 12, dtype=torch.double), torch.randn(2, 7, 12, dtype=torch.double)
    mask = torch.tensor([[True] * 7, [True] * 4 + [False] * 3])
    expected, expected_w = ref(q, kv, kv, key_padding_mask=~mask)
    for need in (False, True):
        got, w = ours(q, kv, mask, need_weights=need)
        assert torch.allclose(got, expected, atol=1e-10)
        if need:
            assert torch.allclose(w, expected_w, atol=1e-10)
    causal, _ = ours(q[:, :5], q[:, :5], causal=True)
    expected_causal, _ = ref(q, q, q, attn_mask=torch.triu(torch.ones(5, 5, dtype=torch.bool), 1))
    assert torch.allclose(causal, expected_causal, atol=1e-10)


def test_sinusoidal_positions_follow_the_formula():
    pe = sinusoidal_positions(10, 6)
    p, i = 7, 1
    assert pe[p, 2 * i].item() == pytest.approx(torch.sin(torch.tensor(p / 10000 ** (2 * i / 6))).item(), abs=1e-6)
    assert pe[p, 2 * i + 1].item() == pytest.approx(torch.cos(torch.tensor(p / 10000 ** (2 * i / 6))).item(), abs=1e-6)


@pytest.mark.parametrize("pre_norm, positions, layers", [(True, "sinusoidal", 2), (False, "learned", 1), (True, "learned", 3)])
def test_cached_decoder_equals_rereading_the_prefix(pre_norm, positions, layers):
    from seqlab.decoding import beam_search
    from seqlab.models.transformer import TransformerConfig, TransformerSeq2Seq

    torch.manual_seed(3)
    model = TransformerSeq2Seq(TransformerConfig(src_vocab_size=30, tgt_vocab_size=25, d_model=16, heads=4, layers=layers,
                                                 d_ff=32, dropout=0.0, pre_norm=pre_norm, positions=positions)).eval()
    src = torch.randint(4, 30, (4, 7))
    lengths = torch.tensor([7, 5, 2, 1])
    src[torch.arange(7)[None] >= lengths[:, None]] = 0
    with torch.no_grad():
        state = model.start(4, (src, lengths))
        tokens = torch.full((4, 1), 2)
        for t in range(6):  # step by step, reordering rows as a beam would, against the full re-read
            logits, state = model.step(state, tokens)
            expected, weights = model.decode(state.memory, state.mask, state.prefix, need_weights=True)
            assert torch.allclose(logits, expected[:, -1], atol=1e-5)
            assert torch.allclose(state.alignment, weights, atol=1e-6)
            order = torch.randperm(4)
            state, tokens = model.reorder(state, order), logits.index_select(0, order).argmax(-1, keepdim=True)
    prompt = torch.full((4, 1), 2)
    cached = beam_search(model, model.start(4, (src, lengths)), prompt, 4, 3, 12, "average", n_best=3, keep_alignment=True)
    model.cfg.kv_cache = False  # the reference: the whole prefix re-read at every step
    reread = beam_search(model, model.start(4, (src, lengths)), prompt, 4, 3, 12, "average", n_best=3, keep_alignment=True)
    for a, b in zip(cached, reread):
        assert [h.tokens for h in a] == [h.tokens for h in b]
        assert all(abs(x.score - y.score) < 1e-5 for x, y in zip(a, b))
        assert all(torch.allclose(torch.tensor(x.alignment), torch.tensor(y.alignment), atol=1e-5) for x, y in zip(a, b))
