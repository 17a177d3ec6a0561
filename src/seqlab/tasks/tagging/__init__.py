"""The tagging task family: sequence labelling (aligned N → N): one tag per token. Loss: the CRF's negative log-likelihood per sentence.

``task.py``: the torch Task (registered in ``seqlab.tasks.TASKS``). Nothing is imported here, so a torch-free
part of the family can be imported without torch.
"""
