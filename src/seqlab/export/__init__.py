"""Exporting trained models for runtimes without seqlab or PyTorch: ONNX (``seqlab.export.onnx``)."""
