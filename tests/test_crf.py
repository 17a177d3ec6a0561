"""The CRF is exact: log Z and Viterbi against brute-force enumeration of every tag sequence on tiny random
cases, gradcheck in float64, padding-invariance, and constrained decoding that never emits invalid BIO/BIOES."""

import itertools

import pytest
import torch

from seqlab.layers.crf import CRF, FORBIDDEN, bio_constraints, bioes_constraints


def brute_force(crf: CRF, emissions: torch.Tensor, n: int, constrained_decode: bool):
    """(log Z, best path) over all C^n sequences of one sentence."""
    trans, start, end = (t.detach() for t in crf._scores(FORBIDDEN))
    scores = {}
    for path in itertools.product(range(crf.num_tags), repeat=n):
        s = start[path[0]] + end[path[-1]] + sum(emissions[t, path[t]] for t in range(n))
        s = s + sum(trans[path[t - 1], path[t]] for t in range(1, n))
        valid = bool(crf.allowed_start[path[0]] and crf.allowed_end[path[-1]] and
                     all(crf.allowed[path[t - 1], path[t]] for t in range(1, n)))
        scores[path] = (s, valid)
    log_z = torch.logsumexp(torch.stack([s for s, _ in scores.values()]), 0)
    candidates = {p: s for p, (s, v) in scores.items() if v or not constrained_decode}
    return log_z, list(max(candidates, key=lambda p: float(candidates[p])))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("constrained", [False, True])
def test_log_partition_and_viterbi_equal_brute_force(seed, constrained):
    g = torch.Generator().manual_seed(seed)
    tags = ["O", "B-A", "I-A", "B-B", "I-B"] if constrained else ["a", "b", "c"]
    crf = CRF(len(tags), *(bio_constraints(tags) if constrained else (None, None, None))).double()
    with torch.no_grad():
        for p in crf.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
    lengths = [4, 1, 3]
    emissions = torch.randn(3, 4, len(tags), generator=g, dtype=torch.float64)
    mask = torch.arange(4)[None, :] < torch.tensor(lengths)[:, None]
    log_z = crf.log_partition(emissions, mask)
    paths = crf.decode(emissions, mask)
    for b, n in enumerate(lengths):
        expected_z, expected_path = brute_force(crf, emissions[b], n, constrained)
        torch.testing.assert_close(log_z[b], expected_z, atol=1e-9, rtol=0)
        assert paths[b] == expected_path
    # the score of a given path, and the NLL = log Z − s(y) ≥ 0
    tags_t = torch.tensor([p + [0] * (4 - len(p)) for p in paths])
    assert (crf(emissions, tags_t, mask) >= -1e-9).all()


def test_gradcheck():
    torch.manual_seed(0)
    crf = CRF(3, *bio_constraints(["O", "B-X", "I-X"])).double()
    emissions = torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True)
    tags = torch.tensor([[1, 2, 2, 0], [0, 1, 0, 0]])
    mask = torch.tensor([[True] * 4, [True, True, False, False]])
    assert torch.autograd.gradcheck(lambda e, *p: crf(e, tags, mask), (emissions, *crf.parameters()))


def test_padding_does_not_change_a_sentence():
    torch.manual_seed(1)
    crf = CRF(4)
    e = torch.randn(1, 3, 4)
    alone = crf.log_partition(e, torch.ones(1, 3, dtype=torch.bool))
    padded = torch.cat([e, torch.randn(1, 5, 4) * 10], 1)
    mask = torch.tensor([[True] * 3 + [False] * 5])
    torch.testing.assert_close(crf.log_partition(padded, mask), alone)
    assert crf.decode(padded, mask) == crf.decode(e, torch.ones(1, 3, dtype=torch.bool))


def is_valid(tags, scheme):
    prev = "O"
    for i, tag in enumerate(tags + ["O"]):
        p, _, kind = tag.partition("-")
        pp, _, pkind = prev.partition("-")
        if scheme == "bio" and p == "I" and not (pp in ("B", "I") and pkind == kind):
            return False
        if scheme == "bioes":
            opened = pp in ("B", "I")
            if opened and not (p in ("I", "E") and kind == pkind):
                return False
            if not opened and p in ("I", "E"):
                return False
        prev = tag
    return True


@pytest.mark.parametrize("scheme", ["bio", "bioes"])
def test_constrained_decoding_is_always_valid(scheme):
    kinds = ["PER", "LOC"]
    prefixes = "BI" if scheme == "bio" else "BIES"
    tags = ["O"] + [f"{p}-{k}" for k in kinds for p in prefixes]
    build = bio_constraints if scheme == "bio" else bioes_constraints
    crf = CRF(len(tags), *build(tags))
    g = torch.Generator().manual_seed(3)
    emissions = torch.randn(200, 9, len(tags), generator=g) * 5  # strong emissions push towards invalid tags
    lengths = torch.randint(1, 10, (200,), generator=g)
    mask = torch.arange(9)[None, :] < lengths[:, None]
    unconstrained = CRF(len(tags))
    unconstrained.load_state_dict(crf.state_dict())
    invalid_without = 0
    for path, free in zip(crf.decode(emissions, mask), unconstrained.decode(emissions, mask)):
        assert is_valid([tags[i] for i in path], scheme)
        invalid_without += not is_valid([tags[i] for i in free], scheme)
    assert invalid_without > 20  # the constraints are doing the work
