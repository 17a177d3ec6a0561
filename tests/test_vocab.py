import json

from seqlab.data.vocab import SPECIALS, Vocab


def test_specials_order_and_frequency_sort():
    v = Vocab.build([["b", "a", "c"], ["a", "b"], ["a"]])
    assert v.itos[:4] == list(SPECIALS)
    assert v.itos[4:] == ["a", "b", "c"]  # by frequency, ties by token
    assert (v.pad_id, v.unk_id, v.bos_id, v.eos_id) == (0, 1, 2, 3)


def test_min_freq_max_size_and_unknowns():
    seqs = [["x"] * 5 + ["y"] * 3 + ["z"]]
    assert Vocab.build(seqs, min_freq=2).itos[4:] == ["x", "y"]
    assert Vocab.build(seqs, max_size=1).itos[4:] == ["x"]
    v = Vocab.build(seqs)
    assert v.encode(["x", "never"]) == [4, v.unk_id]
    assert v.decode(v.encode(["y", "z"])) == ["y", "z"]


def test_deterministic_and_json_round_trip():
    seqs = [["dog", "cat", "emu"], ["emu", "cat"], ["ant"]]
    a, b = Vocab.build(seqs), Vocab.build(list(reversed(seqs)))
    assert a.itos == b.itos
    back = Vocab.from_dict(json.loads(json.dumps(a.to_dict())))
    assert back.itos == a.itos and back.stoi == a.stoi
