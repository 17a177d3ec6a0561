"""Image → sequence: the composed digits data, the Show-Attend-Tell captioner, its task and `seqlab caption`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

from seqlab.cli.main import main
from seqlab.data.images import WORDS, compose_digit_captions, read_image_captions, source_pools
from seqlab.decoding import beam_search
from seqlab.models.captioner import Captioner, CaptionerConfig


# ---------------------------------------------------------------- data


def test_composed_digits_are_deterministic_from_the_seed():
    a = compose_digit_captions("dev", 20, seed=7)
    b = compose_digit_captions("dev", 20, seed=7)
    c = compose_digit_captions("dev", 20, seed=8)
    assert all(np.array_equal(x.image, y.image) and x.caption == y.caption and x.boxes == y.boxes for x, y in zip(a, b))
    assert any(not np.array_equal(x.image, y.image) for x, y in zip(a, c))


def test_splits_never_share_a_source_digit():
    from sklearn.datasets import load_digits

    pools = source_pools(1234)
    sets = {k: set(v.tolist()) for k, v in pools.items()}
    assert not (sets["train"] & sets["dev"]) and not (sets["train"] & sets["test"]) and not (sets["dev"] & sets["test"])
    assert sum(len(s) for s in sets.values()) == len(load_digits().target)


def test_composed_images_match_their_captions_and_boxes():
    from sklearn.datasets import load_digits

    digits = load_digits()
    pools = source_pools(1234)
    test_sources = digits.images[pools["test"]] / 16.0
    for ex in compose_digit_captions("test", 30, seed=1234, digits=(2, 5)):
        words = ex.caption.split()
        assert 2 <= len(words) <= 5 and len(ex.boxes) == len(words) and set(words) <= set(WORDS)
        assert all(a[1] <= b[0] for a, b in zip(ex.boxes, ex.boxes[1:]))  # left to right, not overlapping
        outside = ex.image.copy()
        for x0, x1 in ex.boxes:
            outside[:, x0:x1] = 0
        assert outside.max() == 0  # ink only inside the digits' boxes
        # each box holds a scaled copy of a test-pool digit whose label is the word
        x0, x1 = ex.boxes[0]
        crop = ex.image[:, x0:x1]
        rows = np.nonzero(crop.sum(1))[0]
        side = x1 - x0
        y0 = max(0, min(rows[0], ex.image.shape[0] - side))
        patch = torch.from_numpy(crop[y0:y0 + side]).view(1, 1, side, side)
        small = torch.nn.functional.interpolate(patch, size=(8, 8), mode="area").view(-1).numpy()
        distances = np.abs(test_sources.reshape(len(test_sources), -1) - small).sum(1)
        assert WORDS[digits.target[pools["test"][distances.argmin()]]] == words[0]


def test_user_images_with_captions(tmp_path):
    from PIL import Image

    for name, width in (("wide.png", 60), ("narrow.png", 15)):
        Image.fromarray((np.random.default_rng(0).random((30, width)) * 255).astype(np.uint8)).save(tmp_path / name)
    (tmp_path / "captions.tsv").write_text("image\tcaption\nwide.png\ta wide one\nnarrow.png\tnarrow\n", encoding="utf-8")
    rows = read_image_captions(tmp_path / "captions.tsv", 20, 72)
    assert [r.caption for r in rows] == ["a wide one", "narrow"]
    assert [r.width for r in rows] == [40, 10]  # scaled to height 20 in proportion
    assert rows[1].image.shape == (20, 72) and rows[1].image[:, 10:].max() == 0  # padded on the right
    (tmp_path / "bad.tsv").write_text("image\tcaption\nmissing.png\tx\n", encoding="utf-8")
    with pytest.raises(Exception, match="missing.png: no such image file"):
        read_image_captions(tmp_path / "bad.tsv", 20, 72)
    (tmp_path / "bad2.tsv").write_text("image\tcaption\nwide.png\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"bad2.tsv:2: expected 'image<TAB>caption'"):
        read_image_captions(tmp_path / "bad2.tsv", 20, 72)


# ---------------------------------------------------------------- model


def small_model(attention: str = "soft", seed: int = 0) -> Captioner:
    torch.manual_seed(seed)
    model = Captioner(CaptionerConfig(vocab_size=9, channels=[4, 8, 8], embed_dim=6, hidden_size=10,
                                      attention=attention, dropout=0.0, image_height=20, image_width=72))
    return model.eval()


def test_region_attention_sums_to_one_and_respects_the_padding_mask():
    model = small_model()
    images = torch.rand(3, 1, 20, 72)
    widths = torch.tensor([72, 30, 5])
    _, alpha = model(images, widths, torch.randint(4, 9, (3, 4)))  # [B, T, R]
    rows, cols = model.encoder.grid
    assert alpha.shape == (3, 4, rows * cols)
    torch.testing.assert_close(alpha.sum(-1), torch.ones(3, 4))
    grid = alpha.view(3, 4, rows, cols)
    stride = model.encoder.stride
    for b, w in enumerate(widths.tolist()):
        real_cols = -(-w // stride)  # a cell is real when its first pixel column is inside the image
        assert real_cols == cols or grid[b, :, :, real_cols:].abs().max() == 0
        assert grid[b, :, :, :real_cols].min() > 0
    # whatever the padding holds, the masked cells get nothing
    noisy = images.clone()
    noisy[1, :, :, 30:] = 1e4
    _, alpha_noisy = model(noisy, widths, torch.randint(4, 9, (3, 4)))
    assert alpha_noisy[1].view(4, rows, cols)[:, :, -(-30 // stride):].abs().max() == 0
    torch.testing.assert_close(alpha_noisy.sum(-1), torch.ones(3, 4))


def test_beam_one_equals_greedy():
    model = small_model(seed=3)
    images, widths = torch.rand(4, 1, 20, 72), torch.full((4,), 72)
    bos, eos, limit = 2, 3, 7
    state = model.start(4, (images, widths))
    hyps = beam_search(model, state, torch.full((4, 1), bos), 1, eos, limit)
    for b in range(4):
        s = model.start(1, (images[b:b + 1], widths[b:b + 1]))
        token, out = bos, []
        for _ in range(limit):
            logits, s = model.step(s, torch.tensor([[token]]))
            token = int(logits.argmax(-1))
            if token == eos:
                break
            out.append(token)
        assert hyps[b][0].tokens == out


def test_beam_scores_equal_the_teacher_forced_log_probability():
    """reorder moves the state with the beams: each hypothesis's score is its true log-probability."""
    model = small_model(seed=5)
    images, widths = torch.rand(2, 1, 20, 72), torch.tensor([72, 40])
    bos, eos = 2, 3
    hyps = beam_search(model, model.start(2, (images, widths)), torch.full((2, 1), bos), 4, eos, 5, n_best=4)
    for b, row in enumerate(hyps):
        assert len(row) == 4
        for h in row:
            tokens = h.tokens + ([eos] if h.finished else [])
            with torch.no_grad():
                logits, _ = model(images[b:b + 1], widths[b:b + 1], torch.tensor([[bos, *tokens[:-1]]]))
            log_prob = torch.log_softmax(logits[0], -1).gather(1, torch.tensor(tokens).unsqueeze(1)).sum()
            assert abs(log_prob.item() - h.log_prob) < 1e-4


def test_no_attention_baseline_sees_the_image_only_through_its_initial_state():
    model = small_model("none")
    images, widths = torch.rand(2, 1, 20, 72), torch.full((2,), 72)
    logits, alpha = model(images, widths, torch.randint(4, 9, (2, 3)))
    assert alpha.shape[1] == 0 and logits.shape == (2, 3, 9)
    state = model.start(2, (images, widths))
    state.hidden = tuple(torch.zeros_like(h) for h in state.hidden)
    a, _ = model.step(state, torch.tensor([[4], [4]]))
    assert torch.allclose(a[0], a[1])  # without its initial state, nothing tells the two images apart


def test_doubly_stochastic_regulariser_matches_its_formula(tmp_path):
    from seqlab.data.tokenizers import Tokenizer
    from seqlab.data.vocab import Vocab
    from seqlab.tasks.captioning.task import CaptioningTask

    examples = compose_digit_captions("train", 6, seed=1)
    tok = Tokenizer("whitespace")
    vocab = Vocab.build(tok(e.caption) for e in examples)
    task = CaptioningTask(tok, vocab, (20, 72), 12)
    torch.manual_seed(0)
    cfg = CaptionerConfig(vocab_size=len(vocab), channels=[4, 8, 8], hidden_size=10, embed_dim=6, dropout=0.0,
                          doubly_stochastic=0.7)
    model = Captioner(cfg).eval()
    batch = next(task.batches(task.encode(examples), 6))
    batch.widths[0] = 30
    logits, alpha = model(batch.images, batch.widths, batch.tgt_in)
    ce = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), batch.tgt_out.reshape(-1), ignore_index=-100)
    reg = 0.0
    rows, cols = model.encoder.grid
    for b in range(6):
        steps = int((batch.tgt_out[b] != -100).sum())
        real_cols = -(-int(batch.widths[b]) // model.encoder.stride)
        coverage = alpha[b, :steps].sum(0).view(rows, cols)[:, :real_cols]
        reg += ((1 - coverage) ** 2).sum()
    torch.testing.assert_close(task.loss(model, batch), ce + 0.7 * reg / 6)


# ---------------------------------------------------------------- end to end


def test_train_evaluate_and_caption_with_attention_figure(tmp_path, capsys):
    recipe = {
        "task": "captioning",
        "data": {"dataset": "digits-captions", "tokenizer": "whitespace", "limit": 256, "digits": [2, 3]},
        "model": {"name": "captioner", "channels": [8, 8, 16], "hidden_size": 32, "embed_dim": 16},
        "train": {"epochs": 1, "batch_size": 32, "eval_batch_size": 128, "lr": 0.003, "log_every": 0},
    }
    path = tmp_path / "caption.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    run = tmp_path / "run"
    assert main(["train", str(path), "--out", str(run), "--no-progress", "--json"]) == 0
    results = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    test = results["test"]
    assert {"accuracy", "ter", "bleu", "n"} <= set(test) and test["n"] == 1000
    assert 0 <= test["accuracy"] <= 1 and test["ter"] >= 0
    png = tmp_path / "attention.png"
    assert main(["caption", str(run), "--test", "0", "--test", "1", "--beam", "2", "--show-attention", str(png), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [r["image"] for r in out["results"]] == ["test:0", "test:1"]
    assert all(set(r["caption"].split()) <= set(WORDS) for r in out["results"])
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"
    assert main(["caption", str(run), "--test", "5000"]) == 2
    assert "--test 5000: the test split has images 0 to 999" in capsys.readouterr().err
    assert main(["caption", str(run)]) == 2
    assert "nothing to caption" in capsys.readouterr().err
