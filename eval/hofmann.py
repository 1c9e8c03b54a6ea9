"""The masked copy of Hofmann's *Piano Questions Answered* for the known-item evaluation.

The questions stand in the book right above their answers, and the printed side notes paraphrase them,
so searching with a question would trivially find its own text. We blank the questions and side notes
with spaces (newlines kept), so every offset in the masked copy equals the offset in the original and
the answers stay exactly where they were.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from eval.textspan import CollapsedText

HOFMANN_SLUG = "hofmann_piano_playing_questions_answered"
_SIDENOTE = re.compile(r"\[Sidenote:.*?\]", re.DOTALL)


@dataclass(frozen=True)
class MaskedBook:
    text: str
    answer_spans: list[tuple[int, int]]  # one per (question, answer), in input order
    masked_chars: int


def _blank(chars: list[str], start: int, end: int) -> int:
    n = 0
    for i in range(start, end):
        if chars[i] != "\n":
            chars[i] = " "
            n += 1
    return n


def mask_hofmann(book: str, pairs: Sequence[tuple[str, str]]) -> MaskedBook:
    """Blank every question of `pairs` and every side note; return the answers' spans.

    Raises LookupError((index, reason)) when a question or answer is not in the book.
    """
    collapsed = CollapsedText.of(book)
    # Locate in book order (each question after the previous answer) so repeated wording resolves to
    # the right place; fall back to the first occurrence when the input is not in book order.
    cursor = 0
    questions: list[tuple[int, int]] = []
    answers: list[tuple[int, int]] = []
    for index, (question, answer) in enumerate(pairs):
        q = collapsed.locate(question, _collapsed_pos(collapsed, cursor)) or collapsed.locate(question)
        if q is None:
            raise LookupError(index, "question not found in the Hofmann book (after collapsing whitespace)")
        a = collapsed.locate(answer, _collapsed_pos(collapsed, q[1])) or collapsed.locate(answer)
        if a is None:
            raise LookupError(index, "answer not found in the Hofmann book (after collapsing whitespace)")
        questions.append(q)
        answers.append(a)
        cursor = a[1]
    chars = list(book)
    masked = 0
    for start, end in questions:
        masked += _blank(chars, start, end)
    for m in _SIDENOTE.finditer(book):
        masked += _blank(chars, m.start(), m.end())
    text = "".join(chars)
    # A question text inside an answer would have been blanked: refuse rather than score a damaged answer.
    for index, (start, end) in enumerate(answers):
        if text[start:end] != book[start:end]:
            raise LookupError(index, "answer overlaps a masked question or side note")
    return MaskedBook(text, answers, masked)


def _collapsed_pos(collapsed: CollapsedText, source_offset: int) -> int:
    """First collapsed index whose source offset is >= source_offset."""
    import bisect

    return bisect.bisect_left(collapsed.origin, source_offset)
