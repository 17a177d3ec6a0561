"""The fastai side of ``peers.py ulmfit`` (runs in the peers' venv): ULMFiT as fastai's text tutorial does it,
from scratch (``pretrained=False``: nothing can be downloaded here), sized as seqlab's ``imdb-lm`` /
``sst2-ulmfit`` recipes: ``AWD_LSTM`` with one 512-unit layer and 512-d tied embeddings, a vocabulary of at most
33,000 words, BPTT 70, batch 32, one thread, no worker processes.

1. Language model (``language_model_learner``, drop_mult 0.3 as the tutorial) on the texts of ``--lm-texts``
   (one per line: the very training texts seqlab's LM reads, written by ``peers.py``), one ``fit_one_cycle``
   epoch at the tutorial's 2e-2. fastai has no time budget: ``--lm-lines`` texts are tokenized and the epoch is cut
   to the batches that fit ``--lm-seconds`` (a callback that keeps the one-cycle schedule whole; in the log).
2. Classifier (``text_classifier_learner``, drop_mult 0.5, the LM's vocabulary and encoder) on
   ``--data/{train,dev,test}.tsv``, the tutorial's gradual unfreezing: ``fit_one_cycle(1, 2e-2)``, then
   ``freeze_to(-2)`` at ``slice(1e-2/2.6**4, 1e-2)``, then all at ``slice(1e-3/2.6**4, 1e-3)`` for 2 epochs
   (an AWD_LSTM of one layer has three groups: embedding, LSTM, head, so ``freeze_to(-3)`` is the last stage).

Writes JSON lines: one per stage (its seconds, the test labels predicted off the clock), then ``final``.

    python peers_fastai.py --lm-texts lm.txt --data DIR --lm-lines 12000 --lm-seconds 4300 --seed 1 --log out.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from peer_files import read_tsv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lm-texts", required=True)
    parser.add_argument("--lm-lines", type=int, help="read the first N texts only (the LM's corpus sized to the budget)")
    parser.add_argument("--lm-seconds", type=float, default=float("inf"), help="stop the LM's fit after this long")
    parser.add_argument("--budget-every", type=int, default=100, help="batches between the budget's estimates")
    parser.add_argument("--data", required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log", required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import pandas as pd
    import torch
    from fastai.callback.core import Callback, CancelTrainException
    from fastai.callback.progress import ProgressCallback
    from fastai.text.all import (AWD_LSTM, DataBlock, CategoryBlock, ColReader, ColSplitter, RandomSplitter,
                                 TextBlock, accuracy, awd_lstm_clas_config, awd_lstm_lm_config,
                                 language_model_learner, set_seed, text_classifier_learner, Perplexity)

    torch.set_num_threads(args.threads)
    set_seed(args.seed, reproducible=True)
    log = open(args.log, "w", encoding="utf-8")
    started = time.perf_counter()

    class Budget(Callback):
        """fastai has no time budget; this gives its LM one: every ``--budget-every`` batches it re-estimates how many batches fit
        before ``--lm-seconds`` (counted from the script's start, tokenization included) and shortens the epoch to
        them, moving the one-cycle schedule's position (``pct_train``) so that it still ends at its lowest rate."""
        order = 1  # after TrainEvalCallback has counted the batch
        stopped_at = None

        def before_fit(self):
            self.mark = (time.perf_counter(), 0)

        def after_batch(self):
            if not self.training:
                return
            done = self.learn.train_iter
            if done % args.budget_every == 0:
                now, (then, before) = time.perf_counter(), self.mark
                fits = done + int((started + args.lm_seconds - now) / ((now - then) / (done - before)))
                if fits < self.learn.n_iter:
                    self.learn.n_iter = max(done, fits)
                    self.learn.pct_train = done / self.learn.n_iter
                self.mark = (now, done)
            if done >= self.learn.n_iter:
                Budget.stopped_at = done
                raise CancelTrainException()

    lines = Path(args.lm_texts).read_text(encoding="utf-8").splitlines()
    lines = lines[: args.lm_lines] if args.lm_lines else lines
    lm_block = DataBlock(blocks=TextBlock.from_df("text", is_lm=True, seq_len=70, max_vocab=33000, n_workers=0),
                         get_x=ColReader("text"), splitter=RandomSplitter(0.01, seed=args.seed))
    dls_lm = lm_block.dataloaders(pd.DataFrame({"text": lines}), bs=32, seq_len=70, num_workers=0)
    tokenized = time.perf_counter() - started
    lm_config = {**awd_lstm_lm_config, "emb_sz": 512, "n_hid": 512, "n_layers": 1}
    lm = language_model_learner(dls_lm, AWD_LSTM, config=lm_config, drop_mult=0.3, pretrained=False,
                                metrics=[accuracy, Perplexity()], cbs=[Budget()])
    lm.remove_cb(ProgressCallback)  # a line per epoch in the log, no bars
    lm.path = Path(args.log).parent  # its encoder goes to models/ beside the log, never into the working directory
    lm.fit_one_cycle(1, 2e-2)
    lm_seconds = time.perf_counter() - started
    valid_loss = float(lm.validate()[0])
    tokens = sum(len(t) for t in dls_lm.train.items) if hasattr(dls_lm.train, "items") else None
    lm.save_encoder("fastai-lm-encoder")
    log.write(json.dumps({"stage": "lm", "texts": len(lines), "vocab": len(dls_lm.vocab), "train_tokens": tokens,
                          "tokenize_seconds": tokenized, "lm_seconds": lm_seconds,
                          "stopped_at_batch": Budget.stopped_at, "batches": len(dls_lm.train),
                          "valid_perplexity": float(torch.tensor(valid_loss).exp())}) + "\n")
    log.flush()

    folder = Path(args.data)
    rows = [(text, label, False) for label, text in read_tsv(folder / "train.tsv")]
    rows += [(text, label, True) for label, text in read_tsv(folder / "dev.tsv")]
    frame = pd.DataFrame(rows, columns=["text", "label", "is_valid"])
    test = pd.DataFrame({"text": [text for _, text in read_tsv(folder / "test.tsv")]})
    clas_block = DataBlock(blocks=(TextBlock.from_df("text", vocab=dls_lm.vocab, seq_len=70, n_workers=0), CategoryBlock),
                           get_x=ColReader("text"), get_y=ColReader("label"), splitter=ColSplitter("is_valid"))
    dls = clas_block.dataloaders(frame, bs=32, num_workers=0)
    clas_config = {**awd_lstm_clas_config, "emb_sz": 512, "n_hid": 512, "n_layers": 1}
    learn = text_classifier_learner(dls, AWD_LSTM, config=clas_config, drop_mult=0.5, pretrained=False,
                                    metrics=accuracy)
    learn.path = lm.path
    learn.remove_cb(ProgressCallback)
    learn.load_encoder("fastai-lm-encoder")
    train_seconds = 0.0

    def stage(name: str, fit) -> list[str]:
        nonlocal train_seconds
        begun = time.perf_counter()
        fit()
        train_seconds += time.perf_counter() - begun
        probs, _ = learn.get_preds(dl=learn.dls.test_dl(test))  # off the clock
        pred = [str(dls.vocab[1][i]) for i in probs.argmax(dim=1).tolist()]
        log.write(json.dumps({"stage": name, "train_seconds": train_seconds, "lm_seconds": lm_seconds,
                              "dev_accuracy": float(learn.validate()[1]), "pred": pred}) + "\n")
        log.flush()
        return pred

    stage("head", lambda: learn.fit_one_cycle(1, 2e-2))
    learn.freeze_to(-2)
    stage("lstm", lambda: learn.fit_one_cycle(1, slice(1e-2 / 2.6**4, 1e-2)))
    learn.unfreeze()
    pred = stage("all", lambda: learn.fit_one_cycle(2, slice(1e-3 / 2.6**4, 1e-3)))
    log.write(json.dumps({"final": True, "train_seconds": train_seconds, "lm_seconds": lm_seconds,
                          "total_seconds": time.perf_counter() - started, "pred": pred}) + "\n")
    log.close()


if __name__ == "__main__":
    main()
