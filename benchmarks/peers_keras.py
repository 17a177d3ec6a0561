"""The Keras side of ``benchmarks/peers.py``: a Keras 3 (torch backend) BiLSTM sentence classifier with the sizes of
seqlab's ``mr-bilstm`` recipe — embedding 128 with dropout 0.5, a bidirectional LSTM of 128 units per direction,
max-pooling over time, dropout 0.5, softmax — on the token ids ``peers.py`` wrote from seqlab's own tokenisation, so
both sides see the same inputs. Runs in the peers' venv, never imports seqlab.

Each epoch is one ``model.fit`` over the training ids (padded after the text to the longest, masked with
``mask_zero`` as the Keras guides do; Keras' max-pooling ignores the mask and sees the zeros of padded steps) with
Adam 0.001 and batch 32; then the test ids are classified (off the clock) and a JSON line goes to ``--log``: the
epoch, the training seconds so far and the test accuracy.

    KERAS_BACKEND=torch python peers_keras.py --data mr.npz --log keras.jsonl --epochs 10 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import torch  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="npz with train_x, train_y, test_x, test_y, vocab")
    parser.add_argument("--log", required=True)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import keras
    from keras import layers

    keras.utils.set_random_seed(args.seed)
    data = np.load(args.data)
    vocab, classes = int(data["vocab"]), int(data["train_y"].max()) + 1
    model = keras.Sequential([
        keras.Input(shape=(None,), dtype="int32"),
        layers.Embedding(vocab, 128, mask_zero=True),  # id 0 is padding, as in seqlab
        layers.Dropout(0.5),
        layers.Bidirectional(layers.LSTM(128, return_sequences=True)),
        layers.GlobalMaxPooling1D(),
        layers.Dropout(0.5),
        layers.Dense(classes, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.001), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    seconds = 0.0
    with open(args.log, "w", encoding="utf-8") as log:
        for epoch in range(1, args.epochs + 1):
            started = time.perf_counter()
            model.fit(data["train_x"], data["train_y"], batch_size=32, epochs=1, shuffle=True, verbose=0)
            seconds += time.perf_counter() - started
            predicted = model.predict(data["test_x"], batch_size=256, verbose=0).argmax(-1)
            accuracy = float((predicted == data["test_y"]).mean())
            log.write(json.dumps({"epoch": epoch, "train_seconds": seconds, "test_accuracy": accuracy}) + "\n")
            log.flush()


if __name__ == "__main__":
    main()
