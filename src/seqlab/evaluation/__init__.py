"""Evaluating saved models on registry splits or local files."""
