"""Training vectors with gensim: word2vec (Mikolov et al. 2013: skip-gram or CBOW with negative sampling),
doc2vec (Le & Mikolov 2014: PV-DM or PV-DBOW) and topic models as document features — LSA/LSI
(Deerwester et al. 1990: truncated SVD of TF-IDF) and LDA (Blei et al. 2003).

A corpus is a list of token lists (one per line of text); ``read_corpus`` makes one from a text file or
a split of a registry dataset (``imdb`` is its training split, ``imdb:test`` its test split; labels are never
read), tokenised as seqlab's tokenizers do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..data.datasets import REGISTRY, corpus_texts
from ..data.tokenizers import Tokenizer
from ._gensim import gensim_models

METHODS = {"skipgram": 1, "cbow": 0}


@dataclass
class Word2VecSettings:
    method: str = "skipgram"  # skipgram or cbow
    dim: int = 100
    window: int = 5
    negative: int = 5
    min_count: int = 5
    epochs: int = 5
    sample: float = 1e-3
    seed: int = 1
    workers: int = 2

    def gensim_kwargs(self) -> dict[str, Any]:
        if self.method not in METHODS:
            raise ValueError(f"unknown word2vec method {self.method!r} (known: {', '.join(METHODS)})")
        return {"sg": METHODS[self.method], "vector_size": self.dim, "window": self.window, "negative": self.negative,
                "min_count": self.min_count, "epochs": self.epochs, "sample": self.sample, "seed": self.seed,
                "workers": self.workers}


def read_corpus(source: str, tokenizer: str = "split", lowercase: bool = False) -> list[list[str]]:
    """Token lists, one per non-empty line of ``source``: a text file, or a registry dataset's split as
    ``NAME`` (its training split) or ``NAME:SPLIT`` (``train``, ``dev``, ``test`` or a text-only split such as
    ``imdb:unsup``); see ``data.datasets.corpus_texts``."""
    tok = Tokenizer(tokenizer, lowercase)
    if not Path(source).is_file() and source.partition(":")[0] not in REGISTRY:
        raise FileNotFoundError(f"{source}: neither a text file nor a dataset (see `seqlab data list`)")
    return [tokens for tokens in map(tok, corpus_texts(source)) if tokens]


def train_word2vec(sentences: list[list[str]], settings: Word2VecSettings):
    """Trained gensim ``KeyedVectors``."""
    model = gensim_models().Word2Vec(sentences=sentences, **settings.gensim_kwargs())
    return model.wv


def train_doc2vec(documents: list[list[str]], dim: int = 100, window: int = 5, min_count: int = 2, epochs: int = 20,
                  dm: bool = False, seed: int = 1, workers: int = 2):
    """A gensim ``Doc2Vec`` (PV-DBOW by default, PV-DM with ``dm``); ``model.dv[i]`` is document i's vector and
    ``model.infer_vector(tokens)`` embeds a new one."""
    models = gensim_models()
    tagged = [models.doc2vec.TaggedDocument(words, [i]) for i, words in enumerate(documents)]
    return models.Doc2Vec(tagged, vector_size=dim, window=window, min_count=min_count, epochs=epochs,
                          dm=int(dm), seed=seed, workers=workers)


def train_topics(documents: list[list[str]], method: str = "lda", topics: int = 20, seed: int = 1,
                 passes: int = 5) -> tuple[Any, Any]:
    """(topic model, dictionary): LSA/LSI over TF-IDF or LDA over counts, with gensim."""
    import gensim.corpora

    models = gensim_models()
    dictionary = gensim.corpora.Dictionary(documents)
    dictionary.filter_extremes(no_below=2, no_above=0.5)
    bows = [dictionary.doc2bow(d) for d in documents]
    if method == "lsa":
        tfidf = models.TfidfModel(bows)
        return models.LsiModel(tfidf[bows], id2word=dictionary, num_topics=topics), dictionary
    if method == "lda":
        return models.LdaModel(bows, id2word=dictionary, num_topics=topics, random_state=seed, passes=passes), dictionary
    raise ValueError(f"unknown topic model {method!r} (known: lsa, lda)")
