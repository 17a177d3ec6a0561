"""seqlab: sequence models for natural-language processing, from the equations up.

Data flows one way through the package, and imports follow it::

    data → embeddings → layers → models → decoding → artifact → tasks → training → evaluation → serving / export → cli

``config``, ``runtime`` and ``metrics`` import nothing from seqlab, so any module may use them.

Shape legend used in every docstring and trailing shape comment:

====  ==========================================
B     batch size
T     time steps (source or sequence length)
S     target length (seq2seq)
H     hidden size
E     embedding size
V     vocabulary size
C     number of classes / tags
====  ==========================================
"""

__version__ = "0.1.0"
