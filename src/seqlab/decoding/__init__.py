"""Decoding behind one incremental-decoder contract, shared by language models and seq2seq models.

A decoder is any object with

* ``start(batch_size, context)`` → state — nothing read yet (a seq2seq model encodes its source here);
* ``step(state, tokens [B, T])`` → (logits of the next token [B, V], state) — T ≥ 1 tokens fed at once
  must give the same result as feeding them one at a time (prompts are read in one call);
* ``reorder(state, index [B'])`` → the state of rows ``index`` (for beam search and for dropping rows).

``sampling`` turns logits into tokens (greedy, temperature, top-k, nucleus) and ``generate`` runs the loop;
``beam`` is batched beam search with length normalisation and n-best lists.
"""

from .beam import Hypothesis, beam_search
from .sampling import choose, filter_logits, generate

__all__ = ["Hypothesis", "beam_search", "choose", "filter_logits", "generate"]
