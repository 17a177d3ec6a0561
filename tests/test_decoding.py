"""Beam search over the decoder contract: width 1 is greedy, a wide enough beam is exhaustive search,
hypotheses come out in score order, limits per row hold."""

import itertools
import math

import pytest
import torch

from seqlab.decoding import beam_search, generate
from seqlab.decoding.beam import normalise
from seqlab.models.language_model import RecurrentLM, RecurrentLMConfig

EOS = 3


def toy_lm(vocab_size: int = 6, seed: int = 0) -> RecurrentLM:
    torch.manual_seed(seed)
    model = RecurrentLM(RecurrentLMConfig(vocab_size=vocab_size, embed_dim=6, hidden_size=8, num_layers=1, init_range=1.0))
    return model.eval()


def sequence_log_prob(model, prompt: list[int], seq: list[int]) -> float:
    with torch.no_grad():
        logits, _ = model(torch.tensor([prompt + seq]))
        logp = torch.log_softmax(logits[0, len(prompt) - 1 : -1], -1)
    return float(sum(logp[i, t] for i, t in enumerate(seq)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beam_width_one_is_greedy(seed):
    model = toy_lm(12, seed)
    prompt = torch.tensor([[5, 7], [4, 4]])
    hyps = beam_search(model, model.start(2), prompt, beam=1, eos_id=EOS, max_len=15)
    greedy = torch.stack(list(generate(model, model.start(2), prompt, 15, greedy=True, eos_id=EOS)), 1)
    for row in range(2):
        tokens = greedy[row].tolist()
        expected = tokens[: tokens.index(EOS)] if EOS in tokens else tokens
        assert hyps[row][0].tokens == expected


@pytest.mark.parametrize("penalty", ["none", "average", "gnmt"])
def test_wide_beam_equals_exhaustive_search(penalty):
    V, L = 5, 3  # tokens 0..4 (<eos> = 3 among them), at most 3 generated
    model = toy_lm(V, 3)
    prompt = [4, 2]
    brute = []
    for n in range(1, L + 1):
        for seq in itertools.product(range(V), repeat=n):
            if EOS in seq[:-1]:
                continue
            done = seq[-1] == EOS
            if not done and n < L:
                continue  # unfinished hypotheses exist only at the limit
            lp = sequence_log_prob(model, prompt, list(seq))
            brute.append((normalise(lp, n if done else n, penalty), list(seq[:-1]) if done else list(seq), lp, done))
    brute.sort(key=lambda x: (x[3], x[0]), reverse=True)  # finished hypotheses first, then by score
    hyps = beam_search(model, model.start(1), torch.tensor([prompt]), beam=V ** L, eos_id=EOS, max_len=L,
                       penalty=penalty, n_best=10)[0]
    for got, (score, tokens, lp, _) in zip(hyps, brute[:10]):
        assert got.tokens == tokens
        assert got.log_prob == pytest.approx(lp, abs=1e-4) and got.score == pytest.approx(score, abs=1e-4)


def test_hypotheses_come_out_in_score_order_and_respect_row_limits():
    model = toy_lm(9, 4)
    prompt = torch.tensor([[4], [5], [6]])
    out = beam_search(model, model.start(3), prompt, beam=6, eos_id=EOS, max_len=torch.tensor([2, 5, 9]),
                      penalty="gnmt", n_best=6)
    for row, limit in zip(out, (2, 5, 9)):
        ranks = [(h.finished, h.score) for h in row]
        assert ranks == sorted(ranks, reverse=True) and len(row) == 6  # finished first, each group by score
        assert all(len(h.tokens) + h.finished <= limit for h in row)
        assert len({tuple(h.tokens) for h in row}) == len(row)  # no duplicates
        for h in row:  # each reported log-probability is the sequence's true one
            seq = h.tokens + ([EOS] if h.finished else [])
            assert h.log_prob == pytest.approx(sequence_log_prob(model, [int(prompt[out.index(row), 0])], seq), abs=1e-4)


def test_length_penalties():
    assert normalise(-6.0, 3, "average") == -2.0
    assert normalise(-6.0, 3, "gnmt", 1.0) == pytest.approx(-6.0 / (8 / 6))
    assert normalise(-6.0, 1, "gnmt", 0.6) == pytest.approx(-6.0)
    with pytest.raises(ValueError, match="unknown length penalty"):
        normalise(0.0, 1, "exp")
    assert math.isfinite(normalise(-1.0, 0, "average"))


class Stubborn:
    """A decoder that always prefers to go on: p(continue) = 0.9, p(<eos>) = 0.1, whatever came before."""

    def start(self, batch_size, context=None):
        return torch.zeros(batch_size, 1)

    def step(self, state, tokens):
        logits = torch.full((state.size(0), 5), -20.0)
        logits[:, 1], logits[:, EOS] = math.log(0.9), math.log(0.1)
        return logits, state

    def reorder(self, state, index):
        return state.index_select(0, index)


@pytest.mark.parametrize("penalty", ["none", "average", "gnmt"])
def test_a_finished_hypothesis_beats_one_cut_off_at_the_limit(penalty):
    """With ``average``, the hypothesis cut at the limit (never paying for <eos>) used to rank first: log 0.9 per
    token against (k·log 0.9 + log 0.1) / (k + 1) for every finished one."""
    decoder = Stubborn()
    hyps = beam_search(decoder, decoder.start(1), torch.tensor([[1]]), beam=4, eos_id=EOS, max_len=6,
                       penalty=penalty, n_best=4)[0]
    finished = sum(h.finished for h in hyps)
    assert 0 < finished < len(hyps) and all(h.finished for h in hyps[:finished])  # finished ones first
    if penalty == "average":  # the case that went wrong: the cut-off one scores higher, and used to come first
        assert hyps[finished].score > hyps[0].score


def test_the_numpy_beam_search_ranks_as_the_torch_one():
    import numpy as np

    from seqlab.search import beam_search as numpy_beam_search

    decoder = Stubborn()

    def step(state, tokens):
        logits, state = decoder.step(torch.from_numpy(state), torch.from_numpy(tokens).unsqueeze(1))
        return logits.numpy(), state.numpy(), None

    for penalty in ("none", "average", "gnmt"):
        ours = numpy_beam_search(step, lambda s, rows: s[rows], np.zeros((1, 1), np.float32), np.array([1]), 4, EOS,
                                 np.array([6]), penalty, 4)[0]
        theirs = beam_search(decoder, decoder.start(1), torch.tensor([[1]]), beam=4, eos_id=EOS, max_len=6,
                             penalty=penalty, n_best=4)[0]
        assert [(h.tokens, h.finished) for h in ours] == [(h.tokens, h.finished) for h in theirs]
