"""The captioning task family: image captioning (image → sequence): an image in, its caption out, with attention over image regions.

``task.py``: the torch Task (registered in ``seqlab.tasks.TASKS``). Nothing is imported here, so a torch-free
part of the family can be imported without torch.
"""
