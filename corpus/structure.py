"""Document structure: paragraphs with exact offsets, and which of them are section headings."""

from __future__ import annotations

import re
from dataclasses import dataclass

_BLOCK_SEP = re.compile(r"\n[ \t]*\n")
_MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(\S.*?)\s*#*\s*$")
_NAMED_HEADING = re.compile(
    r"^(CHAPTER|PART|BOOK|SECTION|LECTURE|LESSON|STUDY)\s+([IVXLC]+|\d+)\b|^APPENDIX\b", re.I
)
_ROMAN_HEADING = re.compile(r"^[IVXLC]+\.\s+\S")
_TOC_LINE = re.compile(r"\S\s{3,}\S|\s\d+\.?$|\.{4,}")
_NOT_TITLES = frozenset(
    {
        "AND",
        "PAGE",
        "CHAP",
        "CONTENTS",
        "TABLE OF CONTENTS",
        "BY",
        "FROM",
        "EDITED BY",
        "TRANSLATED BY",
        "FINIS",
        "THE END",
        "ILLUSTRATIONS",
        "LIST OF ILLUSTRATIONS",
    }
)


@dataclass(frozen=True)
class Block:
    """A paragraph: ``text == source[start:end]``."""

    start: int
    end: int
    text: str
    heading: str | None  # the section title when this block is a heading


def _heading_title(block: str) -> str | None:
    if "\n" in block:
        return None
    line = block.strip()
    markdown = _MARKDOWN_HEADING.match(line)
    if markdown:
        return markdown.group(2).strip()
    letters = [c for c in line if c.isalpha()]
    if len(letters) < 4 or len(line) > 80 or line.startswith(("[", "|", "(")):
        return None
    # Table-of-contents lines ("GENERAL RULES      19"), imprints ("EWER & CO.") and lone words
    # of a title page ("AND", "PAGE") are not section titles.
    if _TOC_LINE.search(line) or "&" in line or line.upper().rstrip(".:") in _NOT_TITLES:
        return None
    if _NAMED_HEADING.match(line) or _ROMAN_HEADING.match(line):
        return line.rstrip(".")
    upper = sum(c.isupper() for c in letters) / len(letters)
    # ALL-CAPS short lines are the headings of the Gutenberg books; sentences end in punctuation.
    if upper >= 0.85 and not line.endswith((",", ";")):
        return line.rstrip(".")
    return None


def split_blocks(text: str) -> list[Block]:
    """Paragraphs (blank-line separated), stripped, with their offsets into ``text``."""
    blocks: list[Block] = []
    position = 0
    for match in list(_BLOCK_SEP.finditer(text)) + [None]:
        end = match.start() if match else len(text)
        raw = text[position:end]
        stripped = raw.strip()
        if stripped:
            start = position + (len(raw) - len(raw.lstrip()))
            stop = start + len(stripped)
            blocks.append(Block(start, stop, stripped, _heading_title(stripped)))
        position = match.end() if match else len(text)
    return blocks
