"""seqlab: sequence models for natural-language processing, from the equations up.

Data flows one way through the package, and imports follow it::

    data → embeddings → layers → models → decoding → artifact → tasks → training → evaluation → serving / export → cli

``config``, ``runtime``, ``cotenancy`` and ``metrics`` import nothing from seqlab, so any module may use them.

Importing seqlab chooses OpenMP's waiting policy for this process (``seqlab.cotenancy``): passive when
other seqlab runs or a high load average say the machine is busy, OpenMP's default otherwise. It must
happen before torch is imported, so import seqlab first; a user's ``OMP_WAIT_POLICY`` is never changed.

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

from . import cotenancy as _cotenancy

WAIT_POLICY = _cotenancy.choose_wait_policy()  # before anything imports torch

#: The top-level API, imported on first use so that ``import seqlab`` stays light and torch-free:
#: ``seqlab.train(recipe_or_path, out_dir)``, ``seqlab.load(model_dir)`` (the artifact), ``seqlab.load_recipe``,
#: ``seqlab.Predictor(model_dir).predict(["a fine film"])``.
_API = {"train": ("seqlab.training.run", "train"), "load": ("seqlab.artifact", "load"),
        "load_recipe": ("seqlab.training.run", "load_recipe"), "Predictor": ("seqlab.serving.predictor", "Predictor")}
__all__ = ["WAIT_POLICY", "__version__", *_API]


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'seqlab' has no attribute {name!r}")
    import importlib

    module, attribute = _API[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
