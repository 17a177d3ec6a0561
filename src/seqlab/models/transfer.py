"""Moving what a language model learned into another model (Dai & Le 2015; ULMFiT, Howard & Ruder 2018): the
word embedding and the recurrent layers start from the LM's instead of at random.

Models that can give or take an encoder say so with ``encoder_parts()`` → ``{"embedding": nn.Embedding,
"rnn": recurrent layer}`` (the LM, the recurrent classifier, the tagger). ``transfer_encoder`` copies:

* the embedding word by word: a word of the target vocabulary that the LM knows gets the LM's row; the others
  (and no special token but ``<pad>``/``<unk>``/``<bos>``/``<eos>``, which both vocabularies share) start as the
  mean of the LM's rows, and are counted;
* the recurrent layers tensor by tensor, by name: every tensor of the LM's layer must exist in the target with
  the same shape; the target's backward direction (``*_reverse``), which a left-to-right LM does not have, keeps
  its initialisation. Any other difference is a ``TransferError`` naming both shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn


class TransferError(ValueError):
    """The LM's encoder does not fit the model it should start."""


def transfer_encoder(target: dict[str, nn.Module], source: dict[str, nn.Module], target_words: Sequence[str],
                     source_words: Sequence[str], source_name: str = "the language model") -> dict[str, Any]:
    """Copy ``source``'s embedding and recurrent weights into ``target``'s (both ``encoder_parts()``); returns what
    was copied: words found, words started at the mean, recurrent tensors copied and those left (reverse)."""
    t_emb, s_emb = target["embedding"].weight, source["embedding"].weight
    if t_emb.shape[1] != s_emb.shape[1]:
        raise TransferError(f"{source_name} has {s_emb.shape[1]}-dimensional word embeddings, this model "
                            f"{t_emb.shape[1]}: set model.embed_dim: {s_emb.shape[1]}")
    s_rnn, t_rnn = source["rnn"].state_dict(), target["rnn"].state_dict()
    for name, tensor in s_rnn.items():
        if name not in t_rnn:
            raise TransferError(f"{source_name}'s recurrent layer has {name} {list(tensor.shape)}, this model none: "
                                f"the same cell ({type(source['rnn']).__name__}) and number of layers are needed")
        if t_rnn[name].shape != tensor.shape:
            raise TransferError(f"{source_name} has {name} {list(tensor.shape)}, this model {list(t_rnn[name].shape)}: "
                                "set model.hidden_size, embed_dim and num_layers as the language model's")
    index = {w: i for i, w in enumerate(source_words)}
    found = [(i, index[w]) for i, w in enumerate(target_words) if w in index]
    with torch.no_grad():
        mean = s_emb.mean(0)
        t_emb.copy_(mean.expand_as(t_emb))
        if found:
            rows, src = (torch.tensor(x) for x in zip(*found))
            t_emb[rows] = s_emb[src].to(t_emb.dtype)
        for name, tensor in s_rnn.items():
            t_rnn[name].copy_(tensor)
    return {"words": len(target_words), "found": len(found), "mean_started": len(target_words) - len(found),
            "rnn_copied": len(s_rnn), "rnn_kept": sorted(set(t_rnn) - set(s_rnn))}


def layer_groups(model: nn.Module, parts: dict[str, nn.Module]) -> list[list[nn.Parameter]]:
    """ULMFiT's layer groups of a model with ``encoder_parts()``, bottom to top: the word embedding, each
    recurrent layer (both directions together, by the ``_l{k}`` of torch's parameter names), then every other
    parameter (character features, pooling, head)."""
    embedding = list(parts["embedding"].parameters())
    layers: dict[int, list[nn.Parameter]] = {}
    for name, p in parts["rnn"].named_parameters():
        k = int(name.rsplit("_l", 1)[1].split("_")[0])
        layers.setdefault(k, []).append(p)
    grouped = {id(p) for p in embedding} | {id(p) for ps in layers.values() for p in ps}
    rest = [p for p in model.parameters() if id(p) not in grouped]
    return [embedding, *(layers[k] for k in sorted(layers)), rest]
