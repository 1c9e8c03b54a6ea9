"""From a score report (or a chat turn) to retrieval queries: each weak dimension becomes a question in the
vocabulary that piano-pedagogy books use (rag/generation/dimension_words.py), plus one query for the
performance as a whole. Piece and composer, when known, are added to the query text (not as filters: few
passages name a composer, and a filter would hide the general advice)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rag.generation.dimension_words import DIMENSION_WORDS, plain_name, weakest_two, words_for
from rag.generation.evidence import Problem
from rag.generation.feedback_types import ChatTurn
from scorer.dimensions import BY_NAME
from scorer.schema import ScoreReport


@dataclass(frozen=True)
class RetrievalQuery:
    dimension: str | None  # the weak dimension this query is about; None for the whole performance
    text: str
    filters: Mapping[str, str] = field(default_factory=dict)
    # What a passage for this dimension must be about (no piece or composer): candidates are ranked by it,
    # since a composer's name in the query pulls in biography that says nothing about, say, voicing.
    topic: str | None = None


def _side(dimension: str, score: float) -> int:
    """0 = the weakness lies toward the low pole, 1 = toward the high pole (a note-level dimension has one)."""
    dim = BY_NAME.get(dimension)
    if dim is None:
        return 0
    if dim.desirable == "low":
        return 1
    if dim.desirable == "high":
        return 0
    return 1 if score >= 0.5 else 0


def dimension_query(dimension: str, score: float) -> str:
    words = words_for(dimension)
    if words is None:
        raise KeyError(f"unknown dimension {dimension!r}")
    return words.high if _side(dimension, score) else words.low


def problem_query(
    problem: Problem, *, piece: str | None = None, composer: str | None = None
) -> RetrievalQuery:
    """A query built from one problem's evidence: what went wrong (the dimension's problem and remedy words),
    the kind of passage it happened in, and the piece and composer; ranked by the dimension's advice (topic).
    Two students with different problems, or the same problem in a loud or a fast passage, ask differently."""
    words = words_for(problem.dimension)
    text = problem.what
    if problem.passage_kind:
        text += f" in {problem.passage_kind}"
    remedy = dimension_query(problem.dimension, 0.0 if words is None else _score_side(problem))
    if ";" in remedy:
        text += ";" + remedy.split(";", 1)[1]
    context = " ".join(x for x in (composer, piece) if x)
    if context:
        text += f" ({context})"
    topic = (words.advice or words.topic) if words else plain_name(problem.dimension)
    return RetrievalQuery(problem.dimension, text, topic=topic)


def _score_side(problem: Problem) -> float:
    """A score on the problem's side of the scale, so that the remedy half of the query matches ``what``."""
    words = words_for(problem.dimension)
    return 1.0 if words is not None and problem.what == words.high.split(";")[0] else 0.0


def refine_query(dimension: str, *, piece: str | None = None, composer: str | None = None) -> RetrievalQuery:
    """What to refine in a strong performance: the dimension's advice (or topic), with the piece."""
    words = words_for(dimension)
    topic = (words.advice or words.topic) if words else plain_name(dimension)
    context = " ".join(x for x in (composer, piece) if x)
    text = f"{plain_name(dimension)}: {words.topic if words else ''} {context}".strip()
    return RetrievalQuery(dimension, text, topic=topic)


def queries_from_report(
    report: ScoreReport, *, piece: str | None = None, composer: str | None = None
) -> list[RetrievalQuery]:
    """One query per weak dimension (most severe first) and one for the whole performance."""
    context = " ".join(x for x in (composer, piece) if x)
    worst: dict[str, tuple[float, float]] = {}  # dimension -> (severity, score)
    for spot in report.weak_spots:
        if spot.dimension in DIMENSION_WORDS and (
            spot.dimension not in worst or spot.severity > worst[spot.dimension][0]
        ):
            worst[spot.dimension] = (spot.severity, spot.score)
    ordered = sorted(worst.items(), key=lambda kv: -kv[1][0])
    queries = [
        RetrievalQuery(
            name,
            dimension_query(name, score) + (f" ({context})" if context else ""),
            topic=DIMENSION_WORDS[name].advice or dimension_query(name, score),
        )
        for name, (_, score) in ordered
    ]
    if ordered:
        labels = "; ".join(dimension_query(name, score).split(";")[0] for name, (_, score) in ordered[:3])
        whole = f"piano practice advice: {labels}"
    else:
        whole = "piano practice advice on tone, rhythm, pedalling and musical interpretation"
    if context:
        whole += f" in {context}"
    queries.append(RetrievalQuery(None, whole))
    return queries


def feedback_queries(
    report: ScoreReport, *, piece: str | None = None, composer: str | None = None
) -> list[RetrievalQuery]:
    """``queries_from_report`` with the two weakest quality dimensions first (the prompt asks about them),
    then the rest."""
    queries = queries_from_report(report, piece=piece, composer=composer)
    first = weakest_two(report)
    for name in first:  # the scorer may not flag a weak spot for a weakest dimension: ask anyway
        if not any(q.dimension == name for q in queries):
            queries.append(
                RetrievalQuery(name, _topic_query(name, piece, composer), topic=_advice_topic(name))
            )
    order: dict[str | None, int] = {name: i for i, name in enumerate(first)}
    return sorted(queries, key=lambda q: order.get(q.dimension, len(order) + (q.dimension is None)))


def _advice_topic(name: str) -> str:
    words = DIMENSION_WORDS.get(name)
    return (words.advice if words else None) or _topic_query(name, None, None)


def _topic_query(name: str, piece: str | None, composer: str | None) -> str:
    context = " ".join(x for x in (piece, composer) if x)
    topic = DIMENSION_WORDS[name].topic if name in DIMENSION_WORDS else name
    return f"{plain_name(name)}: {topic} {context}".strip()


def condensed_question(question: str, history: Sequence[ChatTurn]) -> str:
    """Retrieval text for a chat turn: a follow-up ("and for the left hand?") alone retrieves badly,
    so the previous user turn is prepended when the question is short."""
    previous = [t.content for t in history if t.role == "user"]
    if previous and len(question.split()) < 12:
        return f"{previous[-1]} {question}"
    return question
