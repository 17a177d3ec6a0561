import random

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.data.batching import bucket_batches, lengths_to_mask, pad, pad_fraction, unpad


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(1, 50), min_size=0, max_size=20), min_size=1, max_size=12))
def test_pad_round_trip_every_token_in_place(seqs):
    ids, lengths = pad(seqs, pad_id=0)
    assert unpad(ids, lengths) == seqs
    mask = lengths_to_mask(lengths, ids.size(1))
    assert (ids[~mask] == 0).all()
    assert mask.sum().item() == sum(map(len, seqs))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 80), min_size=1, max_size=300), st.integers(1, 17), st.booleans())
def test_bucket_batches_cover_every_index_once(lengths, batch_size, shuffle):
    g = torch.Generator().manual_seed(0)
    batches = bucket_batches(lengths, batch_size, g, shuffle=shuffle)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))
    assert all(1 <= len(b) <= batch_size for b in batches)


def test_bucketing_reduces_padding_and_is_seeded():
    rng = random.Random(0)
    lengths = [rng.randint(1, 60) for _ in range(2000)]
    plain = bucket_batches(lengths, 32, torch.Generator().manual_seed(1), bucket=False)
    bucketed = bucket_batches(lengths, 32, torch.Generator().manual_seed(1), bucket=True)
    assert pad_fraction(bucketed, lengths) < 0.1 < pad_fraction(plain, lengths)
    again = bucket_batches(lengths, 32, torch.Generator().manual_seed(1), bucket=True)
    assert again == bucketed
    other = bucket_batches(lengths, 32, torch.Generator().manual_seed(2), bucket=True)
    assert other != bucketed


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 12), min_size=1, max_size=8), st.integers(0, 10_000))
def test_tagging_and_seq2seq_collates_round_trip(lengths, seed):
    from seqlab.data.batching import IGNORE_INDEX, pad_pairs, pad_tagged

    rng = random.Random(seed)
    seqs = [[rng.randint(4, 50) for _ in range(n)] for n in lengths]
    tags = [[rng.randint(0, 5) for _ in s] for s in seqs]
    ids, tag_ids, lens = pad_tagged(seqs, tags, pad_id=0)
    assert unpad(ids, lens) == seqs and unpad(tag_ids, lens) == tags
    assert (tag_ids[~lengths_to_mask(lens, ids.size(1))] == IGNORE_INDEX).all()
    targets = [[rng.randint(4, 50) for _ in range(rng.randint(0, 6))] for _ in seqs]
    b = pad_pairs(seqs, targets, pad_id=0, bos_id=2, eos_id=3)
    assert unpad(b["src"], b["src_lengths"]) == seqs
    assert unpad(b["tgt_in"], b["tgt_lengths"]) == [[2, *t] for t in targets]
    assert unpad(b["tgt_out"], b["tgt_lengths"]) == [[*t, 3] for t in targets]


def test_bptt_windows_cover_the_stream_in_order():
    from seqlab.data.batching import bptt_stream, bptt_windows

    stream = bptt_stream(list(range(103)), 4)  # 4 rows of 25, 3 tokens dropped
    xs, ys = zip(*bptt_windows(stream, 7))
    x, y = torch.cat(xs, 1), torch.cat(ys, 1)
    assert torch.equal(x, stream[:, :-1]) and torch.equal(y, stream[:, 1:])
    assert [w.size(1) for w in xs] == [7, 7, 7, 3]
