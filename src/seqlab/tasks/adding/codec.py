"""The adding problem without torch: nothing to encode from text (its inputs are numbers), no export; a result
as JSON for the terminal."""

from __future__ import annotations

import json
from typing import Any

RUNTIME = None  # not exported


def summary(result: dict[str, Any]) -> str:
    return json.dumps(result, ensure_ascii=False)
