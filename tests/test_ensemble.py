"""Ensembles: the mean of the members' distributions, through forward and through the decoder contract."""

from __future__ import annotations

import json

import pytest
import torch

from seqlab import artifact
from seqlab.cli.main import main
from seqlab.decoding.beam import beam_search
from seqlab.tasks import load_task
from seqlab.models.ensemble import Ensemble


def brute_mean(*logits: torch.Tensor) -> torch.Tensor:
    return torch.stack([l.softmax(-1) for l in logits]).mean(0).log()


def test_forward_is_the_log_of_the_mean_distribution(models):
    model = artifact.load(models["classifier"]).model
    other = artifact.load(models["classifier"]).model
    torch.manual_seed(0)
    for p in other.parameters():  # a second member that disagrees with the first
        p.data.add_(torch.randn_like(p) * 0.3)
    ids = torch.randint(1, 10, (5, 7))
    lengths = torch.tensor([7, 6, 4, 2, 1])
    with torch.no_grad():
        mixed = Ensemble([model, other]).eval()(ids, lengths)
        want = brute_mean(model(ids, lengths), other(ids, lengths))
        assert not torch.allclose(model(ids, lengths).log_softmax(-1), want, atol=1e-3)  # the members differ
    torch.testing.assert_close(mixed, want, atol=1e-6, rtol=1e-5)


def test_decoder_steps_mix_each_members_own_state_through_reorder(models):
    a = artifact.load(models["seq2seq"]).model  # a recurrent decoder
    b = artifact.load(models["transformer"]).model  # and a Transformer, over the same vocabularies
    _, task = load_task(models["seq2seq"])
    src = torch.randint(4, len(task.src_vocab), (3, 5))
    lengths = torch.tensor([5, 4, 2])
    ensemble = Ensemble([a, b]).eval()
    with torch.no_grad():
        states = [a.start(3, (src, lengths)), b.start(3, (src, lengths))]
        mixed_state = ensemble.start(3, (src, lengths))
        tokens = torch.full((3, 1), task.tgt_vocab.bos_id)
        for step in range(4):
            (la, sa), (lb, sb) = a.step(states[0], tokens), b.step(states[1], tokens)
            mixed, mixed_state = ensemble.step(mixed_state, tokens)
            torch.testing.assert_close(mixed, brute_mean(la, lb), atol=1e-6, rtol=1e-5)
            index = torch.tensor([2, 0, 1]) if step % 2 else torch.tensor([1, 1, 0])  # as beams are reordered
            states = [a.reorder(sa, index), b.reorder(sb, index)]
            mixed_state = ensemble.reorder(mixed_state, index)
            tokens = torch.randint(4, len(task.tgt_vocab), (3, 1))


def test_an_ensemble_of_one_model_twice_decodes_as_the_model(models):
    model = artifact.load(models["transformer"]).model
    _, task = load_task(models["transformer"])
    src = torch.randint(4, len(task.src_vocab), (4, 6))
    lengths = torch.tensor([6, 5, 3, 2])
    prompt = torch.full((4, 1), task.tgt_vocab.bos_id)
    alone = beam_search(model, model.start(4, (src, lengths)), prompt, 3, task.tgt_vocab.eos_id, 12, "average", n_best=3)
    twice = Ensemble([model, model])
    both = beam_search(twice, twice.start(4, (src, lengths)), prompt, 3, task.tgt_vocab.eos_id, 12, "average", n_best=3)
    for row_alone, row_both in zip(alone, both):
        assert [h.tokens for h in row_alone] == [h.tokens for h in row_both]
        assert [h.score for h in row_alone] == pytest.approx([h.score for h in row_both], abs=1e-5)


def test_seqlab_evaluate_ensemble(models, capsys):
    assert main(["evaluate", str(models["seq2seq"]), "--json"]) == 0
    single = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main(["evaluate", str(models["seq2seq"]), "--ensemble", str(models["transformer"]), "--json"]) == 0
    mixed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(mixed) == set(single) and 0.0 <= mixed["wer"] <= 100.0
    assert main(["evaluate", str(models["classifier"]), "--ensemble", str(models["classifier"]), "--json"]) == 0
    doubled = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main(["evaluate", str(models["classifier"]), "--json"]) == 0
    assert doubled["accuracy"] == json.loads(capsys.readouterr().out.strip().splitlines()[-1])["accuracy"]


def test_ensembles_that_mean_nothing_are_refused(models, expect_error):
    expect_error(["evaluate", models["tagger"], "--ensemble", models["tagger"]], "--ensemble", "tagging models cannot")
    expect_error(["evaluate", models["seq2seq"], "--ensemble", models["classifier"]], "--ensemble",
                 "is not a seq2seq model")
