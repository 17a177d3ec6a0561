"""The classification task family: text classification (N → 1): one label per text; loss = mean cross-entropy over the batch.

``task.py``: the torch Task (registered in ``seqlab.tasks.TASKS``). Nothing is imported here, so a torch-free
part of the family can be imported without torch.
"""
