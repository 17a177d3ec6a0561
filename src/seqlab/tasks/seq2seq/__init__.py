"""The seq2seq task family: sequence to sequence (N → M): grapheme-to-phoneme conversion and translation.

``task.py``: the torch Task (registered in ``seqlab.tasks.TASKS``). Nothing is imported here, so a torch-free
part of the family can be imported without torch.
"""
