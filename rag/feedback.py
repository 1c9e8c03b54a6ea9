"""FeedbackService: scores → retrieval → prompt → LLM → citation check → grounding, with a
deterministic cited fallback whenever the LLM times out, fails, or cites nothing valid.

It never raises because the LLM failed. Streams end with ``done`` carrying the checked result, whose
text replaces the streamed draft (markers are renumbered and invalid ones removed on the full text)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Literal

from api.errors import UpstreamError
from api.settings import Settings
from rag.citations import CheckedText, check_citations, strip_echoed_sources
from rag.fallback import fallback_answer, fallback_feedback
from rag.feedback_queries import FeedbackQuery, condensed_question, feedback_queries
from rag.feedback_types import ChatTurn, FeedbackEvent, FeedbackResult
from rag.grounding import GROUNDING_THRESHOLD, ground
from rag.llm import LLMClient, Message
from rag.prompt import chat_messages, feedback_messages
from rag.types import SearchHit
from scorer.schema import ScoreReport

if TYPE_CHECKING:
    from rag.retriever import Retriever

log = logging.getLogger(__name__)
NO_CITATION = "the LLM answer cited no given source"


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


class FeedbackService:
    def __init__(self, settings: Settings, retriever: Retriever, *, llm: LLMClient | None = None) -> None:
        self.settings = settings
        self.retriever = retriever
        self.llm = llm or LLMClient(settings)
        self.mode: Literal["hybrid", "rerank"] = "rerank" if settings.reranker_model else "hybrid"
        self.threshold = settings.grounding_threshold if settings.grounding_threshold is not None else GROUNDING_THRESHOLD

    # --- retrieval ---------------------------------------------------------------------------
    def retrieve(self, queries: Sequence[FeedbackQuery]) -> tuple[list[SearchHit], list[str | None]]:
        """Top ``settings.top_k`` passages over all queries, round-robin by rank so that every weak
        dimension gets its best passage; distinct documents first, then any unseen chunk."""
        k = self.settings.top_k
        results = [self.retriever.search(q.text, mode=self.mode, k=k, filters=q.filters or None) for q in queries]
        chosen: list[tuple[SearchHit, str | None]] = []
        seen_chunks: set[str] = set()
        for distinct_documents in (True, False):
            seen_docs = {h.source.document_id for h, _ in chosen}
            for rank in range(k):
                for query, hits in zip(queries, results):
                    if len(chosen) >= k or rank >= len(hits):
                        continue
                    hit = hits[rank]
                    if hit.chunk_id in seen_chunks or (distinct_documents and hit.source.document_id in seen_docs):
                        continue
                    chosen.append((hit, query.dimension))
                    seen_chunks.add(hit.chunk_id)
                    seen_docs.add(hit.source.document_id)
        hits = [h.model_copy(update={"rank": i}) for i, (h, _) in enumerate(chosen, start=1)]
        return hits, [d for _, d in chosen]

    # --- feedback ----------------------------------------------------------------------------
    def generate(self, report: ScoreReport, *, piece: str | None = None, composer: str | None = None,
                 level: str | None = None) -> FeedbackResult:
        result: FeedbackResult | None = None
        for event in self.stream(report, piece=piece, composer=composer, level=level, _stream_llm=False):
            if event.type == "done":
                result = event.result
        assert result is not None
        return result

    def stream(self, report: ScoreReport, *, piece: str | None = None, composer: str | None = None,
               level: str | None = None, _stream_llm: bool = True, _use_llm: bool = True) -> Iterator[FeedbackEvent]:
        started = time.perf_counter()
        t = time.perf_counter()
        hits, dims = self.retrieve(feedback_queries(report, piece=piece, composer=composer))
        latency = {"retrieval": _ms(t)}
        messages = feedback_messages(report, hits, piece=piece, composer=composer, level=level, hit_dimensions=dims)
        yield from self._answer(messages, hits, latency, started, _stream_llm,
                                fallback=lambda: fallback_feedback(report, hits, dims), use_llm=_use_llm)

    def fallback(self, report: ScoreReport, *, piece: str | None = None, composer: str | None = None) -> FeedbackResult:
        """The deterministic answer alone (what the student gets when the LLM fails): for `rag-eval`."""
        events = list(self.stream(report, piece=piece, composer=composer, _stream_llm=False, _use_llm=False))
        assert events[-1].result is not None
        return events[-1].result

    # --- chat --------------------------------------------------------------------------------
    def chat(self, *, question: str, history: Sequence[ChatTurn], report: ScoreReport | None) -> FeedbackResult:
        result: FeedbackResult | None = None
        for event in self._chat_events(question, history, report, stream_llm=False):
            if event.type == "done":
                result = event.result
        assert result is not None
        return result

    def chat_stream(self, *, question: str, history: Sequence[ChatTurn], report: ScoreReport | None) -> Iterator[FeedbackEvent]:
        yield from self._chat_events(question, history, report, stream_llm=True)

    def _chat_events(self, question: str, history: Sequence[ChatTurn], report: ScoreReport | None,
                     *, stream_llm: bool) -> Iterator[FeedbackEvent]:
        started = time.perf_counter()
        t = time.perf_counter()
        query = FeedbackQuery(None, condensed_question(question, history))
        hits, _ = self.retrieve([query])
        latency = {"retrieval": _ms(t)}
        messages = chat_messages(question, history, hits, report, max_turns=self.settings.feedback_history_turns)
        yield from self._answer(messages, hits, latency, started, stream_llm,
                                fallback=lambda: fallback_answer(question, hits))

    # --- shared: LLM, check, fallback --------------------------------------------------------
    def _answer(self, messages: list[Message], hits: list[SearchHit], latency: dict[str, float], started: float,
                stream_llm: bool, *, fallback, use_llm: bool = True) -> Iterator[FeedbackEvent]:
        yield FeedbackEvent(type="start")
        t = time.perf_counter()
        error: str | None = None
        raw = ""
        try:
            if not use_llm:
                error = "LLM not asked (fallback requested)"
            elif stream_llm:
                parts = []
                for delta in self.llm.stream(messages):
                    parts.append(delta)
                    yield FeedbackEvent(type="delta", text=delta)
                raw = "".join(parts)
            else:
                raw = self.llm.complete(messages).text
        except UpstreamError as err:
            error = err.message
        except Exception as err:  # noqa: BLE001 - whatever the LLM layer does, the student gets feedback
            log.exception("unexpected LLM failure")
            error = f"LLM failed: {type(err).__name__}"
        latency["llm"] = _ms(t)

        checked: CheckedText | None = None
        llm_checked: CheckedText | None = None
        if error is None:
            t = time.perf_counter()
            checked = llm_checked = check_citations(strip_echoed_sources(raw, hits), hits)
            latency["citation_check"] = _ms(t)
            if not checked.citations:
                error = NO_CITATION
        if error is not None:
            log.warning("feedback falls back: %s", error)
            yield FeedbackEvent(type="error", message=error)
            checked = check_citations(fallback(), hits)
        assert checked is not None
        t = time.perf_counter()
        grounding = ground(checked, self.threshold)
        latency["grounding"] = _ms(t)
        latency["total"] = _ms(started)
        result = FeedbackResult(
            text=checked.text,
            generator="fallback" if error else "llm",
            model=None if error else self.llm.model,
            citations=checked.citations,
            invalid_markers=checked.invalid_markers,
            grounding_rate=None if grounding.rate is None else round(grounding.rate, 4),
            llm_error=error,
            latency_ms=latency,
        )
        result._raw_text = raw if llm_checked is not None else None
        result._raw_validity = llm_checked.raw_validity if llm_checked is not None else None
        yield FeedbackEvent(type="done", result=result)
