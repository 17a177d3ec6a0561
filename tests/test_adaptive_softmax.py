"""The adaptive softmax against torch's AdaptiveLogSoftmaxWithLoss, the full softmax and brute force, and an LM
built on it: exact log-probabilities that sum to 1, a training loss equal to them, gradients checked in float64."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seqlab.layers.adaptive_softmax import AdaptiveSoftmax
from seqlab.models.language_model import RecurrentLM, RecurrentLMConfig


def _fresh(seed: int = 0, n: int = 13, d: int = 16) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def test_log_prob_equals_torch_adaptive_log_softmax_with_the_same_weights():
    torch.manual_seed(1)
    ours = AdaptiveSoftmax(16, 50, [5, 20], div_value=2.0, head_bias=True)
    ref = torch.nn.AdaptiveLogSoftmaxWithLoss(16, 50, [5, 20], div_value=2.0, head_bias=True)
    with torch.no_grad():
        ref.head.weight.copy_(ours.head_weight())
        ref.head.bias.copy_(torch.randn(7))
        ours.head_bias.copy_(ref.head.bias)
        for mine, theirs in zip(ours.tails, ref.tail):
            theirs[0].weight.copy_(mine[0].weight)
            theirs[1].weight.copy_(mine[1].weight)
    x, target = _fresh(), torch.randint(0, 50, (13,), generator=torch.Generator().manual_seed(2))
    assert torch.allclose(ours.log_prob(x), ref.log_prob(x), atol=1e-5)
    assert torch.allclose(ours.nll(x, target), -ref(x, target).output.sum(), atol=1e-4)


@pytest.mark.parametrize("cutoffs", [[], [3], [4, 11, 30]])
def test_probabilities_sum_to_one_and_the_loss_is_their_negative_log(cutoffs):
    layer = AdaptiveSoftmax(16, 40, cutoffs)
    x = _fresh(3)
    log_p = layer.log_prob(x)
    assert log_p.shape == (13, 40)
    assert torch.allclose(log_p.exp().sum(-1), torch.ones(13), atol=1e-5)
    target = torch.randint(0, 40, (13,), generator=torch.Generator().manual_seed(4))
    target[[2, 7]] = -100  # ignored positions count nothing
    keep = target != -100
    expected = -log_p[keep].gather(1, target[keep].unsqueeze(1)).sum()
    assert torch.allclose(layer.nll(x, target), expected, atol=1e-4)


def test_without_cutoffs_it_is_the_full_softmax():
    layer = AdaptiveSoftmax(16, 25, [])
    x = _fresh(5)
    assert torch.allclose(layer.log_prob(x), F.log_softmax(F.linear(x, layer.head_words, layer.head_bias), -1), atol=1e-6)


def test_gradients_in_float64():
    layer = AdaptiveSoftmax(6, 12, [3, 7], div_value=2.0).double()
    x = torch.randn(5, 6, dtype=torch.float64, requires_grad=True)
    target = torch.tensor([0, 4, 11, 8, 2])
    assert torch.autograd.gradcheck(lambda v: layer.nll(v, target), (x,))


def test_a_tied_head_shares_the_embedding_rows_and_bad_cutoffs_are_refused():
    emb = torch.nn.Embedding(30, 8)
    layer = AdaptiveSoftmax(8, 30, [6, 15], tied=emb)
    assert layer.head_words is None and torch.equal(layer.head_weight()[:6], emb.weight[:6])
    with pytest.raises(ValueError, match="cutoffs"):
        AdaptiveSoftmax(8, 30, [15, 6])
    with pytest.raises(ValueError, match="cutoffs"):
        AdaptiveSoftmax(8, 30, [30])


@pytest.mark.parametrize("tie", [False, True])
def test_an_adaptive_lm_scores_log_probabilities_and_its_loss_matches_them(tie):
    torch.manual_seed(6)
    model = RecurrentLM(RecurrentLMConfig(vocab_size=60, embed_dim=8, hidden_size=8, num_layers=1, softmax="adaptive",
                                          cutoffs=[10, 30, 500], tie_weights=tie)).eval()
    assert model.adaptive.cutoffs == [10, 30, 60]  # cutoffs past the vocabulary are dropped
    ids = torch.randint(0, 60, (2, 7), generator=torch.Generator().manual_seed(7))
    targets = torch.randint(0, 60, (2, 7), generator=torch.Generator().manual_seed(8))
    scores, _ = model(ids)
    assert torch.allclose(scores.exp().sum(-1), torch.ones(2, 7), atol=1e-5)
    total, _ = model(ids, targets=targets)
    assert torch.allclose(total, F.cross_entropy(scores.reshape(-1, 60), targets.reshape(-1), reduction="sum"), atol=1e-4)
