"""Word and document vectors through gensim (the ``embeddings`` extra): training word2vec (skip-gram, CBOW),
doc2vec and topic models (LSA/LSI, LDA); reading and writing vectors in word2vec text/binary and GloVe
formats; neighbours, analogies and the standard evaluations (Mikolov's analogy set, SimLex-999)."""
