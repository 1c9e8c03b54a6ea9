"""The structured feedback strategy (the default for the embedded model): evidence → one query and one passage
per problem → one JSON-schema call → Cadenza renders and cites → citation check → grounding.

Events: start → delta* → [error] → done. Each delta is one rendered part (the strength, a problem, the
refinement) followed by a blank line, sent once the model has finished writing it; ``done`` carries the checked
text, which replaces the parts. An answer that does not parse gets one more try; then, as on any LLM failure,
the deterministic fallback, which quotes the passage found for each problem."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from rag.generation.citations import check_citations
from rag.generation.errors import GenerationCancelled, LLMError
from rag.generation.evidence import Evidence, build_evidence
from rag.generation.fallback import quote_of
from rag.generation.feedback_types import FeedbackEvent, GenerationTrace
from rag.generation.grounding import check_grounding, supports
from rag.generation.llm import Cancel, check_cancel
from rag.generation.query import RetrievalQuery, problem_query, refine_query
from rag.generation.result import elapsed_ms, final_result
from rag.generation.structured import (
    STRUCTURED_MAX_TOKENS,
    CitedPassage,
    PartScanner,
    SupportCheck,
    feedback_schema,
    parse_answer,
    problem_head,
    quoted_author,
    render_answer,
    render_part,
    response_format,
    structured_messages,
)
from rag.retrieval.types import SearchHit
from scorer.schema import ScoreReport

if TYPE_CHECKING:
    from rag.generation.feedback import FeedbackService, LLMMode

log = logging.getLogger(__name__)
NOT_PARSED = "the LLM answer did not parse as the feedback JSON (twice)"
ATTEMPTS = 2  # one retry of an answer that does not parse


@dataclass(frozen=True)
class Sources:
    """The passages of one request: ``hits`` are the prompt's sources ([n] = hits[n-1]); ``numbers[i]`` is the
    source number of problem i (or of the refinement), None when nothing was found for it; ``focus[i]`` its
    sentence closest to the problem (what the prompt keeps of the passage and the fallback quotes)."""

    hits: list[SearchHit]
    numbers: list[int | None]
    focus: list[str | None]

    def slot(self, i: int) -> tuple[SearchHit | None, str | None]:
        n = self.numbers[i] if i < len(self.numbers) else None
        return (self.hits[n - 1] if n else None), (self.focus[i] if i < len(self.focus) else None)

    @cached_property
    def passages(self) -> list[CitedPassage | None]:
        """Each problem's (or the refinement's) passage as the renderer cites it."""
        out: list[CitedPassage | None] = []
        for i, n in enumerate(self.numbers):
            hit, focus = self.slot(i)
            author = quoted_author(hit.source.author or hit.source.title) if hit is not None else ""
            out.append(CitedPassage(n, hit.text, author, focus) if hit is not None and n else None)
        return out


def evidence_queries(evidence: Evidence, *, piece: str | None, composer: str | None) -> list[RetrievalQuery]:
    if evidence.problems:
        return [problem_query(p, piece=piece, composer=composer) for p in evidence.problems]
    if evidence.refine:
        return [refine_query(evidence.refine, piece=piece, composer=composer)]
    return []


def find_sources(service: FeedbackService, queries: Sequence[RetrievalQuery]) -> Sources:
    """One passage per query: its best candidate not already chosen (a distinct document when there is one)."""
    k = service.config.top_k
    with service.retriever.caught_up_once():
        results = [service._search(q, k) for q in queries]
    hits: list[SearchHit] = []
    numbers: list[int | None] = []
    focus: list[str | None] = []
    for query, candidates in zip(queries, results, strict=True):
        used_docs = {h.source.document_id for h in hits}
        used = {h.chunk_id for h in hits}
        fresh = [h for h in candidates if h.chunk_id not in used]
        pick = next((h for h in fresh if h.source.document_id not in used_docs), fresh[0] if fresh else None)
        if pick is None:
            numbers.append(None)
            focus.append(None)
            continue
        hits.append(pick.model_copy(update={"rank": len(hits) + 1}))
        numbers.append(len(hits))
        sentence, _ = service.retriever.best_sentences(query.topic or query.text, [pick.text])[0]
        focus.append(sentence or None)
    return Sources(hits, numbers, focus)


def _support_check(service: FeedbackService) -> SupportCheck:
    """The service's grounding check, asked before a sentence is cited."""
    return lambda pairs: supports(pairs, service.config)


def structured_fallback(evidence: Evidence, sources: Sources) -> str:
    """The deterministic answer: the strength, then per problem Cadenza's what and where and a quote of the
    passage found for it, cited (no advice without a source); with no problem, one thing to refine."""
    lines = []
    if evidence.strength:
        lines.append(f"Strength: your {evidence.strength}.")
    for i, problem in enumerate(evidence.problems):
        hit, sentence = sources.slot(i)
        line = problem_head(problem)
        if hit is not None:
            author = hit.source.author or hit.source.title
            line += f' From {author}: "{quote_of(hit.text, sentence)}" [{sources.numbers[i]}].'
        lines.append(line)
    if not evidence.problems and evidence.refine:
        hit, sentence = sources.slot(0)
        line = f"To refine: {evidence.refine.replace('_', ' ')}."
        if hit is not None:
            author = hit.source.author or hit.source.title
            line += f' From {author}: "{quote_of(hit.text, sentence)}" [{sources.numbers[0]}].'
        lines.append(line)
    if evidence.problems and not sources.hits:
        lines.append("No pedagogy passages were found for these problems, so no cited advice can be given.")
    return "\n\n".join(lines)


def structured_events(
    service: FeedbackService,
    report: ScoreReport,
    *,
    piece: str | None,
    composer: str | None,
    level: str | None,
    mode: LLMMode,
    cancel: Cancel | None = None,
) -> Iterator[FeedbackEvent]:
    started = time.perf_counter()
    evidence = build_evidence(report, piece=piece, composer=composer, level=level)
    t = time.perf_counter()
    sources = find_sources(service, evidence_queries(evidence, piece=piece, composer=composer))
    latency = {"retrieval": elapsed_ms(t)}
    yield FeedbackEvent(type="start")
    t = time.perf_counter()
    n_problems = len(evidence.problems)
    raw, answer, error, first_ms = None, None, None, None
    if mode == "skip":
        error = "LLM not asked (fallback requested)"
    else:
        slots = [sources.slot(i) for i in range(max(n_problems, 1))]
        messages = structured_messages(evidence, [h for h, _ in slots], [f for _, f in slots])
        rf = response_format(feedback_schema(n_problems), service.config.response_format_style)
        shown: set[tuple[str, int]] = set()
        passages, check = sources.passages, _support_check(service)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                if mode == "stream":
                    scanner = PartScanner()
                    for delta in service.llm.stream(
                        messages, max_tokens=STRUCTURED_MAX_TOKENS, cancel=cancel, response_format=rf
                    ):
                        for part in scanner.feed(delta):
                            text = render_part(part, evidence, passages, check)
                            if (
                                text and (part.kind, part.index) not in shown
                            ):  # a retry does not repeat a part
                                shown.add((part.kind, part.index))
                                first_ms = first_ms if first_ms is not None else elapsed_ms(started)
                                yield FeedbackEvent(type="delta", text=text + "\n\n")
                    raw = scanner.buffer
                else:
                    raw = service.llm.complete(
                        messages, max_tokens=STRUCTURED_MAX_TOKENS, cancel=cancel, response_format=rf
                    ).text
            except GenerationCancelled:
                raise
            except LLMError as err:
                error = err.message
                break
            except Exception as err:  # noqa: BLE001 - whatever the LLM layer does, the student gets feedback
                log.exception("unexpected LLM failure")
                error = f"LLM failed: {type(err).__name__}"
                break
            answer = parse_answer(raw, n_problems)
            if answer is not None:
                error = None
                break
            log.warning("structured answer %d did not parse: %r", attempt, (raw or "")[:200])
            error = NOT_PARSED
    check_cancel(cancel)
    latency["llm"] = elapsed_ms(t)
    if first_ms is not None:
        latency["first_part"] = first_ms
    yield from _finish(service, evidence, sources, raw, answer, error, latency, started)


def _finish(
    service: FeedbackService,
    evidence: Evidence,
    sources: Sources,
    raw: str | None,
    answer: dict[str, Any] | None,
    error: str | None,
    latency: dict[str, float],
    started: float,
) -> Iterator[FeedbackEvent]:
    t = time.perf_counter()
    trace = GenerationTrace()
    if answer is not None:
        text = "\n\n".join(render_answer(answer, evidence, sources.passages, _support_check(service)))
        checked = check_citations(text, sources.hits)
        latency["citation_check"] = elapsed_ms(t)
        grounding = check_grounding(checked, service.config)
        trace = GenerationTrace(
            raw_text=raw,
            raw_validity=checked.raw_validity,
            candidate_text=checked.text,
            candidate_grounding_rate=grounding.rate,
        )
    else:
        if error is not None:
            log.warning("feedback falls back: %s", error)
            yield FeedbackEvent(type="error", message=error)
        if raw is not None:
            trace = GenerationTrace(raw_text=raw)
        checked = check_citations(structured_fallback(evidence, sources), sources.hits)
        grounding = check_grounding(checked, service.config)
    latency["grounding"] = elapsed_ms(t)
    latency["total"] = elapsed_ms(started)
    yield FeedbackEvent(
        type="done",
        result=final_result(
            checked,
            grounding,
            answered=answer is not None,
            llm_error=error,
            model=service.llm.model,
            latency=latency,
            trace=trace,
        ),
    )
