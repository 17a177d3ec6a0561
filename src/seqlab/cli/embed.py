"""seqlab embed train|doc2vec|topics|neighbours|analogy|evaluate|convert|plot — word vectors through gensim."""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from pathlib import Path

from .. import runtime
from ..manifest import sha256_file
from ..embeddings import evaluate as ev
from ..embeddings.io import FORMATS, load_vectors, save_vectors
from ..embeddings.train import Word2VecSettings, read_corpus, train_doc2vec, train_topics, train_word2vec
from .output import add_json_flag, emit_json, positive_int

HELP = "train, inspect, evaluate and convert word vectors (word2vec, doc2vec, LSA/LDA through gensim)"


def _corpus_args(p) -> None:
    p.add_argument("corpus", metavar="CORPUS", nargs="+",
                   help="text files (one sentence or document per line) or datasets (NAME: its training split; NAME:test, "
                        "NAME:dev: another split, text only); several are read in turn as one corpus")
    p.add_argument("--tokenizer", default="split", help="how lines become tokens (default split: on whitespace)")
    p.add_argument("--lowercase", action="store_true", help="lowercase the text first")


def add_parser(sub) -> None:
    p = sub.add_parser("embed", help=HELP, description=HELP + ".")
    cmds = p.add_subparsers(dest="embed_command", metavar="ACTION", required=True)

    t = cmds.add_parser("train", help="train word2vec (skip-gram or CBOW, negative sampling) on a corpus",
                        description="Train word2vec with gensim and write the vectors; prints the analogy accuracy and "
                                    "SimLex-999 Spearman of the result.")
    _corpus_args(t)
    d = Word2VecSettings()
    t.add_argument("--method", choices=["skipgram", "cbow"], default=d.method, help=f"word2vec's model (default {d.method})")
    t.add_argument("--dim", type=positive_int, default=d.dim, help=f"vector size (default {d.dim})")
    t.add_argument("--window", type=positive_int, default=d.window, help=f"context window (default {d.window})")
    t.add_argument("--negative", type=positive_int, default=d.negative, help=f"negative samples (default {d.negative})")
    t.add_argument("--min-count", type=positive_int, default=d.min_count, help=f"ignore rarer words (default {d.min_count})")
    t.add_argument("--epochs", type=positive_int, default=d.epochs, help=f"passes over the corpus (default {d.epochs})")
    t.add_argument("--seed", type=int, default=d.seed, help=f"random seed (default {d.seed})")
    t.add_argument("--workers", type=positive_int, default=1,
                   help="gensim worker threads (default 1: the same command gives the same vectors, byte for byte; "
                        "more is faster, but the order threads update the vectors in varies, and so do the vectors)")
    t.add_argument("--out", required=True, help="vectors file to write")
    t.add_argument("--format", choices=FORMATS, default="word2vec", help="file format (default word2vec text)")
    add_json_flag(t)

    dv = cmds.add_parser("doc2vec", help="train doc2vec (PV-DBOW or PV-DM) on a corpus, one document per line")
    _corpus_args(dv)
    dv.add_argument("--dim", type=positive_int, default=100, help="vector size (default 100)")
    dv.add_argument("--epochs", type=positive_int, default=20, help="passes over the corpus (default 20)")
    dv.add_argument("--dm", action="store_true", help="PV-DM instead of PV-DBOW")
    dv.add_argument("--workers", type=positive_int, default=1,
                    help="gensim worker threads (default 1, so runs repeat; more is faster and not repeatable)")
    dv.add_argument("--out", required=True, help="document vectors (word2vec text, keys are line numbers from 0)")
    add_json_flag(dv)

    tp = cmds.add_parser("topics", help="fit an LSA/LSI or LDA topic model and print each topic's top words")
    _corpus_args(tp)
    tp.add_argument("--method", choices=["lsa", "lda"], default="lda", help="LSA/LSI (SVD of tf-idf) or LDA (default lda)")
    tp.add_argument("--topics", type=positive_int, default=10, help="number of topics (default 10)")
    tp.add_argument("--words", type=positive_int, default=8, help="top words shown per topic")
    add_json_flag(tp)

    n = cmds.add_parser("neighbours", help="nearest words by cosine similarity")
    n.add_argument("vectors", metavar="VECTORS", help="a vectors file (word2vec text or binary, GloVe text)")
    n.add_argument("words", nargs="+", metavar="WORD", help="words to look up")
    n.add_argument("-k", type=positive_int, default=10, help="neighbours per word (default 10)")
    add_json_flag(n)

    a = cmds.add_parser("analogy", help="words closest to A − B + C (king man woman → queen)")
    a.add_argument("vectors", metavar="VECTORS", help="a vectors file (word2vec text or binary, GloVe text)")
    a.add_argument("a", metavar="A", help="e.g. king")
    a.add_argument("b", metavar="B", help="e.g. man")
    a.add_argument("c", metavar="C", help="e.g. woman")
    a.add_argument("-k", type=positive_int, default=5, help="answers shown (default 5)")
    add_json_flag(a)

    e = cmds.add_parser("evaluate", help="analogy accuracy (questions-words.txt) and SimLex-999 Spearman")
    e.add_argument("vectors", metavar="VECTORS", help="a vectors file (word2vec text or binary, GloVe text)")
    add_json_flag(e)

    c = cmds.add_parser("convert", help="rewrite vectors in another format (word2vec text/binary, GloVe text)")
    c.add_argument("source", metavar="IN", help="vectors to read")
    c.add_argument("target", metavar="OUT", help="file to write")
    c.add_argument("--to", choices=FORMATS, required=True, help="format of OUT")
    c.add_argument("--from", dest="source_format", choices=FORMATS, help="format of IN (default: guessed)")
    add_json_flag(c)

    pl = cmds.add_parser("plot", help="PCA or t-SNE projection of chosen or the most frequent words, as PNG")
    pl.add_argument("vectors", metavar="VECTORS", help="a vectors file (word2vec text or binary, GloVe text)")
    pl.add_argument("words", nargs="*", metavar="WORD", help="words to show (default: the --top most frequent)")
    pl.add_argument("--top", type=positive_int, default=200, help="how many frequent words without WORDs (default 200)")
    pl.add_argument("--method", choices=["pca", "tsne"], default="pca", help="projection to 2-D (default pca)")
    pl.add_argument("--out", required=True, help="PNG file to write")
    add_json_flag(pl)
    for action in cmds._choices_actions:  # each action's --help opens with what it does
        parser = cmds.choices[action.dest]
        parser.description = parser.description or action.help[0].upper() + action.help[1:] + "."


def _read(args) -> list[list[str]]:
    """The token lists of every CORPUS given, in order."""
    return [tokens for source in args.corpus for tokens in read_corpus(source, args.tokenizer, args.lowercase)]


def run(args: argparse.Namespace) -> int:
    return ACTIONS[args.embed_command](args)


def _train(args) -> int:
    settings = Word2VecSettings(args.method, args.dim, args.window, args.negative, args.min_count, args.epochs,
                                seed=args.seed, workers=args.workers)
    t0 = time.perf_counter()
    sentences = _read(args)
    with runtime.working(f"training {args.method} on {sum(map(len, sentences)):,} tokens ({args.epochs} epochs)"):
        vectors = train_word2vec(sentences, settings)
    seconds = time.perf_counter() - t0
    save_vectors(vectors, args.out, args.format)
    with runtime.working("evaluating: analogies and SimLex-999"):
        scores = {"analogy": ev.analogy_accuracy(vectors), "simlex999": ev.simlex(vectors)}
    result = {"vectors": args.out, "sha256": sha256_file(args.out), "words": len(vectors.key_to_index),
              "sentences": len(sentences), "tokens": sum(map(len, sentences)), "seconds": seconds,
              "settings": asdict(settings), **scores}
    if args.json:
        emit_json(result)
    else:
        an, sl = result["analogy"], result["simlex999"]
        print(f"{result['words']:,} words × {args.dim} from {result['tokens']:,} tokens in {seconds:.1f}s → {args.out}")
        print(f"sha256 {result['sha256']}  ({settings.workers} worker{'s' if settings.workers > 1 else ''}"
              + (", so another run gives other vectors)" if settings.workers > 1 else ", seed "
                 f"{settings.seed}: the same command gives this file again)"))
        print(f"analogy accuracy {an['accuracy']:.2%} ({an['answered']:,} of {an['questions']:,} questions answerable)")
        rho = "n/a" if sl["spearman"] is None else f"{sl['spearman']:.3f}"
        print(f"SimLex-999 Spearman {rho} ({sl['oov_percent']:.1f}% of pairs out of vocabulary)")
    return 0


def _doc2vec(args) -> int:
    from ..embeddings.io import from_matrix

    docs = _read(args)
    model = train_doc2vec(docs, dim=args.dim, epochs=args.epochs, dm=args.dm, workers=args.workers)
    save_vectors(from_matrix([str(i) for i in range(len(docs))], model.dv.vectors), args.out)
    result = {"documents": len(docs), "dim": args.dim, "out": args.out}
    emit_json(result) if args.json else print(f"{len(docs):,} document vectors × {args.dim} → {args.out}")
    return 0


def _topics(args) -> int:
    docs = _read(args)
    model, _ = train_topics(docs, args.method, args.topics)
    topics = [[w for w, _ in model.show_topic(k, topn=args.words)] for k in range(args.topics)]
    if args.json:
        emit_json({"method": args.method, "topics": topics})
    else:
        for k, words in enumerate(topics):
            print(f"topic {k:>2}: {' '.join(words)}")
    return 0


def _neighbours(args) -> int:
    vectors = load_vectors(args.vectors)
    result = {w: ev.neighbours(vectors, w, args.k) for w in args.words}
    if args.json:
        emit_json({"neighbours": result})
    else:
        for word, near in result.items():
            print(f"{word}: " + ", ".join(f"{w} {s:.3f}" for w, s in near))
    return 0


def _analogy(args) -> int:
    found = ev.analogy(load_vectors(args.vectors), args.a, args.b, args.c, args.k)
    if args.json:
        emit_json({"query": [args.a, args.b, args.c], "answers": found})
    else:
        print(f"{args.a} − {args.b} + {args.c} ≈ " + ", ".join(f"{w} {s:.3f}" for w, s in found))
    return 0


def _evaluate(args) -> int:
    vectors = load_vectors(args.vectors)
    with runtime.working("evaluating: analogies and SimLex-999"):
        result = {"words": len(vectors.key_to_index), "analogy": ev.analogy_accuracy(vectors), "simlex999": ev.simlex(vectors)}
    if args.json:
        emit_json(result)
    else:
        print(f"analogy accuracy {result['analogy']['accuracy']:.2%} ({result['analogy']['answered']:,} answerable)")
        rho = result["simlex999"]["spearman"]
        print(f"SimLex-999 Spearman {'n/a' if rho is None else f'{rho:.3f}'} "
              f"({result['simlex999']['oov_percent']:.1f}% of pairs out of vocabulary)")
    return 0


def _convert(args) -> int:
    vectors = load_vectors(args.source, args.source_format)
    save_vectors(vectors, args.target, args.to)
    result = {"vectors": len(vectors.key_to_index), "dim": int(vectors.vector_size), "out": args.target, "format": args.to}
    emit_json(result) if args.json else print(f"{result['vectors']:,} vectors → {args.target} ({args.to})")
    return 0


def _plot(args) -> int:
    from ..evaluation.plots import embedding_projection

    vectors = load_vectors(args.vectors)
    words = args.words or vectors.index_to_key[: args.top]
    missing = [w for w in words if w not in vectors.key_to_index]
    if missing:
        raise ValueError(f"not in the vectors' vocabulary: {', '.join(missing[:10])}")
    if len(words) < 3:
        raise ValueError("a projection needs at least 3 words")
    with runtime.working(f"{args.method} projection of {len(words)} words"):
        path = embedding_projection(words, vectors[words], args.out, args.method)
    result = {"words": len(words), "method": args.method, "out": str(Path(path))}
    emit_json(result) if args.json else print(f"{len(words)} words ({args.method}) → {Path(path)}")
    return 0


ACTIONS = {"train": _train, "doc2vec": _doc2vec, "topics": _topics, "neighbours": _neighbours, "analogy": _analogy,
           "evaluate": _evaluate, "convert": _convert, "plot": _plot}
