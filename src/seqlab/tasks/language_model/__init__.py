"""The language model task family: language modelling (N → N) and conditional generation (1 → N).

``task.py``: the torch Task (registered in ``seqlab.tasks.TASKS``). Nothing is imported here, so a torch-free
part of the family can be imported without torch.
"""
