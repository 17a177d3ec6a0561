"""Streaming generated text while watching for stop strings (stdlib only: an exported language model streams
without torch)."""

from __future__ import annotations

from collections.abc import Callable


class StopStream:
    """Streams generated text while watching for stop strings: text is passed on only once no stop string
    can still begin inside it; at a stop string the text ends just before it."""

    def __init__(self, stops: list[str], on_text: Callable[[str], None] | None):
        self.stops = [s for s in stops if s]
        self.hold = max((len(s) for s in self.stops), default=1) - 1
        self.on_text, self.text, self.sent = on_text, "", 0
        self.searched = 0  # no stop string begins before this index of the text seen so far

    def update(self, text: str) -> bool:
        """Take the whole text so far; return True when a stop string has appeared. Only the new end of the text
        is searched (from the longest stop string's length before it, and 2 characters more for a detokenizer
        that rewrites the last characters), so a long generation costs linear time, not quadratic."""
        self.text = text
        start = max(0, self.searched - self.hold - 2)
        self.searched = len(text)
        for s in self.stops:
            at = text.find(s, start)
            if at >= 0:
                self.text = text[:at]
                return True
        self._send(len(text) - self.hold)
        return False

    def _send(self, upto: int) -> None:
        if self.on_text and upto > self.sent:
            self.on_text(self.text[self.sent : upto])
            self.sent = upto

    def finish(self) -> str:
        self._send(len(self.text))
        return self.text
