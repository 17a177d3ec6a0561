"""word2vec on WikiText-2's training text, twice with the same settings in one process: through seqlab's
pipeline (registry → tokenizer → ``seqlab.embeddings.train`` → file in word2vec format → read back →
``seqlab.embeddings.evaluate``) and with gensim directly (lines split on whitespace, ``Word2Vec``, gensim's own
evaluations). The analogy accuracy (questions-words.txt) and SimLex-999 Spearman of both, side by side; with
one worker gensim is deterministic, so the two should agree exactly. The pipeline's vectors are kept for
Kim's static / non-static comparison (recipes/mr-textcnn-w2v-*.yaml).

    SEQLAB_DATA_DIR=../shared/datasets python benchmarks/word2vec_wikitext2.py --out runs/vectors/wikitext2-sg300.txt
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

from seqlab import runtime
from seqlab.embeddings import evaluate as ev
from seqlab.embeddings.io import load_vectors, save_vectors
from seqlab.embeddings.train import Word2VecSettings, read_corpus, train_word2vec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/vectors/wikitext2-sg300.txt")
    parser.add_argument("--method", default="skipgram")
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1, help="1 makes gensim deterministic (default)")
    args = parser.parse_args()
    settings = Word2VecSettings(method=args.method, dim=args.dim, epochs=args.epochs, workers=args.workers)

    t0 = time.perf_counter()
    sentences = read_corpus("wikitext2", "split")
    ours = train_word2vec(sentences, settings)
    save_vectors(ours, args.out)
    ours = load_vectors(args.out)
    seqlab_seconds = time.perf_counter() - t0
    seqlab_row = {"analogy": ev.analogy_accuracy(ours), "simlex999": ev.simlex(ours), "seconds": seqlab_seconds,
                  "words": len(ours.key_to_index)}

    from gensim.models import Word2Vec
    from gensim.test.utils import datapath

    t0 = time.perf_counter()
    path = runtime.data_dir() / "wikitext2" / "train.txt"
    with open(path, encoding="utf-8") as fh:
        direct_sentences = [line.split() for line in fh if line.split()]
    model = Word2Vec(sentences=direct_sentences, **settings.gensim_kwargs())
    direct_seconds = time.perf_counter() - t0
    score, _ = model.wv.evaluate_word_analogies(datapath("questions-words.txt"))
    pearson, spearman, oov = model.wv.evaluate_word_pairs(datapath("simlex999.txt"))
    gensim_row = {"analogy": {"accuracy": float(score)}, "simlex999": {"spearman": float(spearman[0]), "oov_percent": oov},
                  "seconds": direct_seconds, "words": len(model.wv.key_to_index)}

    print(f"word2vec on WikiText-2 train ({sum(map(len, sentences)):,} tokens, {len(sentences):,} lines), "
          f"settings {asdict(settings)}")
    for name, row in (("seqlab pipeline", seqlab_row), ("gensim directly", gensim_row)):
        print(f"  {name:<16} analogy {row['analogy']['accuracy']:.2%}   SimLex-999 ρ {row['simlex999']['spearman']:.4f}"
              f"   {row['words']:,} words   {row['seconds']:.0f} s")
    answered = seqlab_row["analogy"]["answered"]
    print(f"  analogy questions answerable: {answered:,} of {seqlab_row['analogy']['questions']:,}; "
          f"SimLex pairs out of vocabulary: {seqlab_row['simlex999']['oov_percent']:.1f}%")
    print(f"  vectors kept in {Path(args.out)}")
    print(json.dumps({"benchmark": "word2vec_wikitext2", "settings": asdict(settings),
                      "seqlab": seqlab_row | {"analogy": {k: v for k, v in seqlab_row["analogy"].items() if k != "sections"}},
                      "gensim": gensim_row}))


if __name__ == "__main__":
    main()
