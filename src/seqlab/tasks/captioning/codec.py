"""Captioning without torch: an image's caption as a line for the terminal (images are read by
``seqlab.data.images``); not exported."""

from __future__ import annotations

from typing import Any

RUNTIME = None  # not exported


def summary(result: dict[str, Any]) -> str:
    return f"{result.get('image', '')}\t{result.get('caption', '')}"
