"""Retrieval queries for feedback: `rag.generation.query.queries_from_report` (retrieval engineer) when present,
else this module's own (one per weak quality dimension + one for the whole), so that feedback works
on a branch where rag/generation/query.py has not landed. Both yield (dimension, text, filters)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rag.generation.dimension_words import TOPICS, plain_name, weakest_two
from rag.generation.feedback_types import ChatTurn
from scorer.schema import ScoreReport


@dataclass(frozen=True)
class FeedbackQuery:
    dimension: str | None
    text: str
    filters: Mapping[str, str] = field(default_factory=dict)
    # What a passage for this dimension must be about (no piece or composer): candidates are ranked by it,
    # since a composer's name in the query pulls in biography that says nothing about, say, voicing.
    topic: str | None = None


def feedback_queries(report: ScoreReport, *, piece: str | None = None, composer: str | None = None) -> list[FeedbackQuery]:
    """The two weakest quality dimensions first (the prompt asks about them), then the rest."""
    try:
        from rag.generation.query import queries_from_report
    except ImportError:
        queries = _local_queries(report, piece=piece, composer=composer)
    else:
        queries = [FeedbackQuery(q.dimension, q.text, dict(q.filters or {}), q.topic)
                   for q in queries_from_report(report, piece=piece, composer=composer)]
    first = weakest_two(report)
    for name in first:  # the scorer may not flag a weak spot for a weakest dimension: ask anyway
        if not any(q.dimension == name for q in queries):
            queries.append(FeedbackQuery(name, _topic_query(name, piece, composer), topic=_advice_topic(name)))
    order = {name: i for i, name in enumerate(first)}
    return sorted(queries, key=lambda q: order.get(q.dimension, len(order) + (q.dimension is None)))


def _advice_topic(name: str) -> str:
    from rag.generation.query import ADVICE

    return ADVICE.get(name) or _topic_query(name, None, None)


def _topic_query(name: str, piece: str | None, composer: str | None) -> str:
    context = " ".join(x for x in (piece, composer) if x)
    return f"{plain_name(name)}: {TOPICS[name].query if name in TOPICS else name} {context}".strip()


def _local_queries(report: ScoreReport, *, piece: str | None, composer: str | None) -> list[FeedbackQuery]:
    weak = []
    for spot in report.weak_spots:
        if spot.dimension not in weak and spot.dimension in TOPICS:
            weak.append(spot.dimension)
    queries = [FeedbackQuery(name, _topic_query(name, piece, composer), topic=_advice_topic(name)) for name in weak]
    whole = "how to practise a piece to improve " + " and ".join(plain_name(n) for n in weakest_two(report))
    queries.append(FeedbackQuery(None, f"{whole} {piece or ''} {composer or ''}".strip()))
    return queries


def condensed_question(question: str, history: Sequence[ChatTurn]) -> str:
    """Retrieval text for a chat turn: a follow-up ("and for the left hand?") alone retrieves badly,
    so the previous user turn is prepended when the question is short."""
    previous = [t.content for t in history if t.role == "user"]
    if previous and len(question.split()) < 12:
        return f"{previous[-1]} {question}"
    return question
