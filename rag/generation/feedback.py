"""FeedbackService: scores → retrieval → prompt → LLM → citation check → grounding, with a
deterministic cited fallback whenever the LLM times out, fails, or cites nothing valid.

It never raises because the LLM failed. Streams end with ``done`` carrying the checked result, whose
text replaces the streamed draft (markers are renumbered and invalid ones removed on the full text)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rag.generation.errors import LLMError
from api.settings import Settings
from rag.generation.attribution import attribute, complete_sentences, drop_debris, drop_echoes
from rag.generation.citations import CheckedText, check_citations, strip_echoed_sources
from rag.generation.fallback import (advice_clause, assign_sources, fallback_answer, fallback_feedback, strength_sentence,
                          weak_head)
from rag.generation.query import RetrievalQuery, condensed_question, feedback_queries
from rag.generation.feedback_types import ChatTurn, FeedbackEvent, FeedbackResult
from rag.generation.grounding import GROUNDING_THRESHOLD, ground
from rag.generation.llm import LLMClient, Message
from rag.generation.dimension_words import plain_name, weakest_two
from rag.generation.prompt import chat_messages, dimension_messages, feedback_messages, prompt_wording
from rag.retrieval.types import SearchHit
from scorer.schema import ScoreReport

if TYPE_CHECKING:
    from rag.retrieval.retriever import Retriever

log = logging.getLogger(__name__)
NO_CITATION = "the LLM answer cited no given source"
NO_SUPPORT = "no citation of the LLM answer is supported by its passage"
# A per-dimension answer is two or three sentences; the cap bounds a rambling small model (~8 tokens/s on one core).
DIMENSION_MAX_TOKENS = 120


@dataclass(frozen=True)
class Part:
    """A piece of the answer: ``prefix`` written by Cadenza, then the LLM's answer to ``messages`` (if any).
    ``source_n``: the one prompt source a per-dimension call was given (its answer is post-processed by
    rag/generation/attribution.py); ``wording``: the prompt's own text, whose echoes are dropped."""
    prefix: str
    messages: list[Message] | None = None
    max_tokens: int | None = None
    source_n: int | None = None
    wording: str = ""
    fallback: str | None = None  # the deterministic cited advice for this part, used when nothing usable is left


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
    def retrieve(self, queries: Sequence[RetrievalQuery]) -> tuple[list[SearchHit], list[str | None]]:
        """Top ``settings.top_k`` passages over all queries, round-robin by rank so that every weak
        dimension gets its best passage; distinct documents first, then any unseen chunk."""
        k = self.settings.top_k
        with self.retriever.caught_up_once():  # one catalogue check for all the request's searches
            results = [self._search(q, k) for q in queries]
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

    def _search(self, query: RetrievalQuery, k: int) -> list[SearchHit]:
        """A dimension's candidates (its query with the piece and composer, and its topic alone) ordered by
        how close their best sentence is to the topic; other queries as the retriever ranks them.

        Why: "voicing and balance between the hands (Chopin, Nocturne …)" ranked a history of the nocturne
        first, because the composer's name matches biography strongly; the topic's cosine puts the passage
        that talks about voicing first, and one about voicing in Chopin above a general one, since both
        queries' candidates compete."""
        if query.dimension is None or not query.topic:
            return self.retriever.search(query.text, mode=self.mode, k=k, filters=query.filters or None)
        # The second model only re-orders the blend's top `rescore_model_candidates`; when all of them come back
        # (k at least that), the order below replaces its order, so its work (a query encoding, ~0.8 s of CPU
        # per chunk it has not embedded yet) would be thrown away.
        reorder = k < self.settings.rescore_model_candidates
        hits = self.retriever.search(query.text, mode=self.mode, k=k, filters=query.filters or None, second_model=reorder)
        if query.topic != query.text:
            seen = {h.chunk_id for h in hits}
            hits += [h for h in self.retriever.search(query.topic, mode=self.mode, k=k, filters=query.filters or None,
                                                      second_model=reorder)
                     if h.chunk_id not in seen]
        relevance = self.retriever.best_sentences(query.topic, [h.text for h in hits])
        order = sorted(range(len(hits)), key=lambda i: (-relevance[i][1], i))
        return [hits[i] for i in order][:k]

    def quotes(self, report: ScoreReport, hits: Sequence[SearchHit], dims: Sequence[str | None],
               topics: Mapping[str, str]) -> dict[int, str]:
        """hit index -> the sentence closest to the topic of the weak dimension that passage serves (the
        fallback quotes it; the source assignment is the fallback's own)."""
        out: dict[int, str] = {}
        for name, i in assign_sources(hits, dims, weakest_two(report)).items():
            topic = topics.get(name) or plain_name(name)
            sentence, _ = self.retriever.best_sentences(topic, [hits[i].text])[0]
            if sentence:
                out[i] = sentence
        return out

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
        queries = feedback_queries(report, piece=piece, composer=composer)
        hits, dims = self.retrieve(queries)
        latency = {"retrieval": _ms(t)}
        topics = {q.dimension: q.topic for q in queries if q.dimension and q.topic}
        # The per-dimension excerpts keep these sentences and the fallback quotes them: chosen once per request,
        # and only when one of the two needs them (the single prompt does not).
        quotes: dict[int, str] | None = self.quotes(report, hits, dims, topics) if self.per_dimension else None
        if self.per_dimension:
            parts = self.dimension_parts(report, hits, dims, piece=piece, composer=composer, level=level, focus=quotes)
        else:
            parts = [Part("", feedback_messages(report, hits, piece=piece, composer=composer, level=level,
                                                hit_dimensions=dims))]

        def fallback() -> str:
            return fallback_feedback(report, hits, dims, quotes if quotes is not None else self.quotes(report, hits, dims, topics))

        yield from self._answer(parts, hits, latency, started, _stream_llm, fallback=fallback, use_llm=_use_llm)

    @property
    def require_support(self) -> bool:
        """Fall back unless at least one citation is supported (stricter than the issue's "no valid citation");
        auto = on for the embedded local model, whose citations are often not supported by their passage."""
        strict = self.settings.feedback_require_support
        return strict if strict is not None else self.settings.llm_api_base is None

    @property
    def per_dimension(self) -> bool:
        strategy = self.settings.feedback_strategy
        return strategy == "per_dimension" or (strategy == "auto" and self.settings.llm_api_base is None)

    def dimension_parts(self, report: ScoreReport, hits: Sequence[SearchHit], dims: Sequence[str | None], *,
                        piece: str | None, composer: str | None, level: str | None,
                        focus: Mapping[int, str] | None = None) -> list[Part]:
        """Strength, then per weak dimension: what and where (from the scores), and the LLM's advice from the
        one passage retrieved for that dimension. Why: the 0.5B model, given five sources and a list of
        tasks, echoed the task wording and cited passages that did not support its sentences."""
        parts: list[Part] = []
        strength = strength_sentence(report)
        prefix = f"{strength}\n" if strength else ""
        chosen = assign_sources(hits, dims, weakest_two(report))
        for name in weakest_two(report):
            head = weak_head(report, name)
            if name not in chosen:  # no passage at all: say what and where, give no uncited advice
                parts.append(Part(f"{prefix}{head}.\n"))
            else:
                i = chosen[name]
                quote = (focus or {}).get(i)
                messages = dimension_messages(report, name, hits[i], i + 1, piece=piece, composer=composer, level=level,
                                              focus=quote)
                parts.append(Part(f"{prefix}{head}: ", messages, DIMENSION_MAX_TOKENS, i + 1, prompt_wording(messages),
                                  advice_clause(hits[i], i + 1, name, quote)))
            prefix = "\n"
        return parts

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
        query = RetrievalQuery(None, condensed_question(question, history))
        hits, _ = self.retrieve([query])
        latency = {"retrieval": _ms(t)}
        messages = chat_messages(question, history, hits, report, max_turns=self.settings.feedback_history_turns)
        yield from self._answer([Part("", messages)], hits, latency, started, stream_llm,
                                fallback=lambda: fallback_answer(question, hits))

    # --- shared: LLM, check, fallback --------------------------------------------------------
    def _answer(self, parts: Sequence[Part], hits: list[SearchHit], latency: dict[str, float], started: float,
                stream_llm: bool, *, fallback, use_llm: bool = True) -> Iterator[FeedbackEvent]:
        yield FeedbackEvent(type="start")
        t = time.perf_counter()
        error: str | None = None
        raw = attributed = ""
        filled = 0  # per-dimension parts answered by the deterministic advice because the model's had nothing left
        try:
            if not use_llm:
                error = "LLM not asked (fallback requested)"
            else:
                pieces: list[str] = []  # what the model wrote (and Cadenza's prefixes)
                final: list[str] = []  # the same after per-dimension post-processing
                for part in parts:
                    if part.prefix:
                        pieces.append(part.prefix)
                        if stream_llm:
                            yield FeedbackEvent(type="delta", text=part.prefix)
                    if part.messages is None:
                        final.append(part.prefix)
                        continue
                    if stream_llm:
                        deltas = []
                        for delta in self.llm.stream(part.messages, max_tokens=part.max_tokens):
                            deltas.append(delta)
                            yield FeedbackEvent(type="delta", text=delta)
                        answer = "".join(deltas)
                    else:
                        answer = self.llm.complete(part.messages, max_tokens=part.max_tokens).text
                    if part.source_n is None:
                        pieces.append(answer)
                        final.append(part.prefix + answer)
                    else:
                        answer = complete_sentences(strip_echoed_sources(answer, hits))
                        answer = drop_echoes(drop_debris(answer), part.wording)
                        pieces.append(answer)
                        if answer:
                            final.append(part.prefix + attribute(answer, part.source_n))
                        elif part.fallback:  # nothing usable left (all echo or debris): the cited quote instead
                            final.append(part.prefix + part.fallback)
                            filled += 1
                        else:
                            final.append(re.sub(r":\s*$", ".", part.prefix))
                raw, attributed = "".join(pieces), "".join(final)
        except LLMError as err:
            error = err.message
        except Exception as err:  # noqa: BLE001 - whatever the LLM layer does, the student gets feedback
            log.exception("unexpected LLM failure")
            error = f"LLM failed: {type(err).__name__}"
        latency["llm"] = _ms(t)

        checked: CheckedText | None = None
        llm_checked: CheckedText | None = None
        if error is None:
            t = time.perf_counter()
            checked = check_citations(strip_echoed_sources(attributed, hits), hits)
            llm_checked = check_citations(strip_echoed_sources(raw, hits), hits)  # raw validity: the model's own markers
            latency["citation_check"] = _ms(t)
            if not checked.citations:
                error = NO_CITATION
        grounding = None
        t = time.perf_counter()
        if error is None and self.require_support:
            grounding = ground(checked, self.threshold)
            if not any(c.supported for c in checked.citations):
                error = NO_SUPPORT
        candidate = None  # the LLM's checked answer, kept for `rag-eval` even when the policy rejects it
        if llm_checked is not None:
            if grounding is None and checked is not None and checked.citations:
                grounding = ground(checked, self.threshold)
            candidate = (checked.text, None if grounding is None else grounding.rate)
        if error is not None:
            log.warning("feedback falls back: %s", error)
            yield FeedbackEvent(type="error", message=error)
            checked = check_citations(fallback(), hits)
            grounding = None
        assert checked is not None
        if grounding is None:
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
        result._candidate = candidate
        result._filled_parts = filled if error is None else 0
        yield FeedbackEvent(type="done", result=result)
