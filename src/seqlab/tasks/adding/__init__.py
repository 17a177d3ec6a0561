"""The adding task family: the adding problem (Hochreiter & Schmidhuber 1997; Le, Jaitly & Hinton 2015): a test of long memory.

``task.py``: the torch Task (registered in ``seqlab.tasks.TASKS``). Nothing is imported here, so a torch-free
part of the family can be imported without torch.
"""
