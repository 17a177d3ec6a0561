"""The flair side of ``benchmarks/peers.py``: flair's ``SequenceTagger`` (BiLSTM-CRF over random word embeddings, a
POS embedding and flair's character BiLSTM) trained by flair's ``ModelTrainer`` with its own defaults, on CoNLL-2000
column files. Runs in the peers' venv, never imports seqlab.

After every epoch it tags the test file and appends a JSON line to ``--log``: the epoch, the training seconds so far
(the epochs only: tagging the test file and flair's own bookkeeping are off the clock), the training tokens so far and
the predicted IOB tags of every test sentence, which ``peers.py`` scores with the same scorer as seqlab's. It stops
after the first epoch that ends past ``--minutes`` of training.

    python peers_flair.py --data DIR --log flair.jsonl --minutes 20 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="folder with train.txt and test.txt (word POS chunk)")
    parser.add_argument("--log", required=True)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--hidden", type=int, default=200, help="LSTM units per direction")
    parser.add_argument("--word-dim", type=int, default=100)
    parser.add_argument("--pos-dim", type=int, default=25)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    import flair
    from flair.data import Dictionary
    from flair.datasets import ColumnCorpus
    from flair.embeddings import CharacterEmbeddings, OneHotEmbeddings, StackedEmbeddings
    from flair.models import SequenceTagger
    from flair.trainers import ModelTrainer
    from flair.trainers.plugins import TrainerPlugin

    flair.set_seed(args.seed)
    flair.device = torch.device("cpu")
    corpus = ColumnCorpus(args.data, {0: "text", 1: "pos", 2: "np"}, train_file="train.txt", test_file="test.txt",
                          dev_file=None, sample_missing_splits=False,
                          comment_symbol=None)  # flair's default "# " drops CoNLL-2000's pound-sign tokens
    tags = corpus.make_label_dictionary("np", add_unk=False)
    characters = Dictionary(add_unk=True)  # the training text's characters (flair's default list is a download)
    for sentence in corpus.train:
        for token in sentence:
            for c in token.text:
                characters.add_item(c)
    embeddings = StackedEmbeddings([
        OneHotEmbeddings.from_corpus(corpus, field="text", min_freq=1, embedding_length=args.word_dim),
        OneHotEmbeddings.from_corpus(corpus, field="pos", min_freq=1, embedding_length=args.pos_dim),
        CharacterEmbeddings(characters),
    ])
    tagger = SequenceTagger(hidden_size=args.hidden, embeddings=embeddings, tag_dictionary=tags, tag_type="np",
                            use_crf=True)
    test = list(corpus.test)
    train_tokens = sum(len(s) for s in corpus.train)
    budget = args.minutes * 60
    log = open(args.log, "w", encoding="utf-8")

    class Clock(TrainerPlugin):
        """Times the training epochs, tags the test file after each, stops once the budget is spent."""

        def __init__(self):
            super().__init__()
            self.seconds, self.started, self.epochs = 0.0, 0.0, 0

        @TrainerPlugin.hook
        def before_training_epoch(self, epoch, **kw):
            self.started = time.perf_counter()

        @TrainerPlugin.hook
        def after_training_epoch(self, epoch, **kw):
            self.seconds += time.perf_counter() - self.started
            self.epochs += 1
            tagger.predict(test, label_name="predicted", mini_batch_size=64)
            predicted = []
            for sentence in test:
                bio = ["O"] * len(sentence)
                for span in sentence.get_spans("predicted"):
                    first = span.tokens[0].idx - 1
                    for k, token in enumerate(span.tokens):
                        bio[token.idx - 1] = ("B-" if token.idx - 1 == first else "I-") + span.tag
                predicted.append(bio)
            log.write(json.dumps({"epoch": self.epochs, "train_seconds": self.seconds,
                                  "train_tokens": train_tokens * self.epochs, "tags": predicted}) + "\n")
            log.flush()
            if self.seconds >= budget:
                os._exit(0)  # the budget is spent: skip flair's final evaluation and model saving

    with tempfile.TemporaryDirectory() as base:
        ModelTrainer(tagger, corpus).train(base, max_epochs=10_000, plugins=[Clock()], save_final_model=False,
                                           create_file_logs=False, create_loss_file=False)


if __name__ == "__main__":
    main()
