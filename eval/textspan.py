"""Whitespace-collapsed matching of gold quotes, mapped back to offsets in the source text.

Gold quotes are exact substrings of a source *after collapsing whitespace* (line breaks in the books
fall anywhere). We search in the collapsed text and map the hit back to the original characters, so the
gold span can be compared with a chunk's `char_start:char_end` into the same source text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WS = re.compile(r"\s+")


def collapse(text: str) -> str:
    """Every run of whitespace becomes one space; no leading/trailing space."""
    return _WS.sub(" ", text).strip()


@dataclass(frozen=True)
class CollapsedText:
    """A source text with whitespace collapsed and a map from collapsed to original offsets."""

    text: str
    origin: tuple[int, ...]  # origin[i] = offset in the source of collapsed character i

    @classmethod
    def of(cls, source: str) -> CollapsedText:
        chars: list[str] = []
        origin: list[int] = []
        in_space = True  # drop leading whitespace
        for i, ch in enumerate(source):
            if ch.isspace():
                if not in_space:
                    chars.append(" ")
                    origin.append(i)
                in_space = True
            else:
                chars.append(ch)
                origin.append(i)
                in_space = False
        if chars and chars[-1] == " ":
            chars.pop()
            origin.pop()
        return cls("".join(chars), tuple(origin))

    def locate(self, quote: str, start: int = 0) -> tuple[int, int] | None:
        """Source span `[start, end)` of the first occurrence of `quote` (whitespace-insensitive)."""
        needle = collapse(quote)
        if not needle:
            return None
        i = self.text.find(needle, start)
        if i < 0:
            return None
        return self.origin[i], self.origin[i + len(needle) - 1] + 1
