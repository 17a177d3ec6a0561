"""The one place that imports gensim, with the install hint when it is missing."""

from __future__ import annotations


def gensim_models():
    try:
        import gensim.models
    except ImportError:
        raise RuntimeError("word vectors need gensim: pip install 'seqlab[embeddings]'") from None
    return gensim.models
