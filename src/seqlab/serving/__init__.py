"""Serving: load a model once, map text to predictions (shared by the CLI and the server)."""
