"""FeedbackService: scores → retrieval → prompt → LLM → citation check → grounding, with a
deterministic cited fallback whenever the LLM times out, fails, or cites nothing valid.

It never raises because the LLM failed. Streams end with ``done`` carrying the checked result, whose
text replaces the streamed draft (markers are renumbered and invalid ones removed on the full text)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rag.generation.attribution import attribute, complete_sentences, drop_debris, drop_echoes
from rag.generation.citations import CheckedText, check_citations, strip_echoed_sources
from rag.generation.config import GenerationConfig
from rag.generation.dimension_words import plain_name, weakest_two
from rag.generation.errors import GenerationCancelled, LLMError
from rag.generation.fallback import (
    advice_clause,
    assign_sources,
    fallback_answer,
    fallback_feedback,
    strength_sentence,
    weak_head,
)
from rag.generation.feedback_types import ChatTurn, FeedbackEvent, FeedbackResult, GenerationTrace
from rag.generation.grounding import GroundingReport, check_grounding
from rag.generation.llm import Cancel, LLMClient, Message, check_cancel
from rag.generation.prompt import chat_messages, dimension_messages, feedback_messages, prompt_wording
from rag.generation.query import RetrievalQuery, condensed_question, feedback_queries
from rag.generation.result import elapsed_ms, final_result
from rag.generation.structured_feedback import structured_events
from rag.retrieval.types import SearchHit
from scorer.schema import ScoreReport

if TYPE_CHECKING:
    from rag.retrieval.retriever import Retriever

log = logging.getLogger(__name__)
NO_CITATION = "the LLM answer cited no given source"
NO_SUPPORT = "no citation of the LLM answer is supported by its passage"
NOT_ASKED = "LLM not asked (fallback requested)"
# A per-dimension answer is two or three sentences; the cap bounds a rambling small model (~8 tokens/s on one core).
DIMENSION_MAX_TOKENS = 120
# How the LLM is asked: its deltas streamed as events, one completion per part, or not at all (the fallback alone).
LLMMode = Literal["stream", "complete", "skip"]


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
    fallback: str | None = (
        None  # the deterministic cited advice for this part, used when nothing usable is left
    )


@dataclass
class _Draft:
    """The LLM's answer over all parts: ``raw`` is what the model wrote (and Cadenza's prefixes), ``text`` the
    same after per-dimension post-processing; ``filled`` counts per-dimension parts answered by the
    deterministic advice because the model's had nothing left."""

    raw: str = ""
    text: str = ""
    filled: int = 0


def _final(events: Iterable[FeedbackEvent]) -> FeedbackResult:
    """The result the ``done`` event carries."""
    result: FeedbackResult | None = None
    for event in events:
        if event.type == "done":
            result = event.result
    assert result is not None
    return result


class FeedbackService:
    def __init__(
        self, config: GenerationConfig, retriever: Retriever, *, llm: LLMClient | None = None
    ) -> None:
        self.config = config
        self.retriever = retriever
        self.llm = llm or LLMClient(config)

    # --- retrieval ---------------------------------------------------------------------------
    def retrieve(self, queries: Sequence[RetrievalQuery]) -> tuple[list[SearchHit], list[str | None]]:
        """Top ``config.top_k`` passages over all queries, round-robin by rank so that every weak
        dimension gets its best passage; distinct documents first, then any unseen chunk."""
        k = self.config.top_k
        with self.retriever.caught_up_once():  # one catalogue check for all the request's searches
            results = [self._search(q, k) for q in queries]
        chosen: list[tuple[SearchHit, str | None]] = []
        seen_chunks: set[str] = set()
        for distinct_documents in (True, False):
            seen_docs = {h.source.document_id for h, _ in chosen}
            for rank in range(k):
                for query, hits in zip(queries, results, strict=True):
                    if len(chosen) >= k or rank >= len(hits):
                        continue
                    hit = hits[rank]
                    if hit.chunk_id in seen_chunks or (
                        distinct_documents and hit.source.document_id in seen_docs
                    ):
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
        mode, filters = self.config.retrieval_mode, query.filters or None
        if query.dimension is None or not query.topic:
            return self.retriever.search(query.text, mode=mode, k=k, filters=filters)
        # The second model only re-orders the blend's top `rescore_model_candidates`; when all of them come back
        # (k at least that), the order below replaces its order, so its work (a query encoding, ~0.8 s of CPU
        # per chunk it has not embedded yet) would be thrown away.
        reorder = k < self.config.rescore_model_candidates
        hits = self.retriever.search(query.text, mode=mode, k=k, filters=filters, second_model=reorder)
        if query.topic != query.text:
            seen = {h.chunk_id for h in hits}
            hits += [
                h
                for h in self.retriever.search(
                    query.topic, mode=mode, k=k, filters=filters, second_model=reorder
                )
                if h.chunk_id not in seen
            ]
        relevance = self.retriever.best_sentences(query.topic, [h.text for h in hits])
        order = sorted(range(len(hits)), key=lambda i: (-relevance[i][1], i))
        return [hits[i] for i in order][:k]

    def quotes(
        self,
        report: ScoreReport,
        hits: Sequence[SearchHit],
        dims: Sequence[str | None],
        topics: Mapping[str, str],
    ) -> dict[int, str]:
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
    def generate(
        self,
        report: ScoreReport,
        *,
        piece: str | None = None,
        composer: str | None = None,
        level: str | None = None,
        cancel: Cancel | None = None,
    ) -> FeedbackResult:
        """``cancel``: set when nobody wants the answer any more; the LLM call stops and GenerationCancelled is raised."""
        return _final(self._feedback_events(report, piece, composer, level, "complete", cancel))

    def stream(
        self,
        report: ScoreReport,
        *,
        piece: str | None = None,
        composer: str | None = None,
        level: str | None = None,
        cancel: Cancel | None = None,
    ) -> Iterator[FeedbackEvent]:
        """start → delta* (the LLM's draft as it is written) → [error] → done (the checked result)."""
        yield from self._feedback_events(report, piece, composer, level, "stream", cancel)

    def fallback(
        self, report: ScoreReport, *, piece: str | None = None, composer: str | None = None
    ) -> FeedbackResult:
        """The deterministic answer alone (what the student gets when the LLM fails): for `rag-eval`."""
        return _final(self._feedback_events(report, piece, composer, None, "skip"))

    def _feedback_events(
        self,
        report: ScoreReport,
        piece: str | None,
        composer: str | None,
        level: str | None,
        mode: LLMMode,
        cancel: Cancel | None = None,
    ) -> Iterator[FeedbackEvent]:
        if (
            self.config.structured
        ):  # evidence -> a passage per problem -> a JSON answer Cadenza renders and cites
            yield from structured_events(
                self, report, piece=piece, composer=composer, level=level, mode=mode, cancel=cancel
            )
            return
        started = time.perf_counter()
        t = time.perf_counter()
        queries = feedback_queries(report, piece=piece, composer=composer)
        hits, dims = self.retrieve(queries)
        latency = {"retrieval": elapsed_ms(t)}
        topics = {q.dimension: q.topic for q in queries if q.dimension and q.topic}
        # The per-dimension excerpts keep these sentences and the fallback quotes them: chosen once per request,
        # and only when one of the two needs them (the single prompt does not).
        per_dimension = self.config.per_dimension
        quotes: dict[int, str] | None = self.quotes(report, hits, dims, topics) if per_dimension else None
        if per_dimension:
            parts = self.dimension_parts(
                report, hits, dims, piece=piece, composer=composer, level=level, focus=quotes
            )
        else:
            parts = [
                Part(
                    "",
                    feedback_messages(
                        report, hits, piece=piece, composer=composer, level=level, hit_dimensions=dims
                    ),
                )
            ]

        def fallback() -> str:
            return fallback_feedback(
                report, hits, dims, quotes if quotes is not None else self.quotes(report, hits, dims, topics)
            )

        yield from self._answer(parts, hits, latency, started, mode, fallback=fallback, cancel=cancel)

    def dimension_parts(
        self,
        report: ScoreReport,
        hits: Sequence[SearchHit],
        dims: Sequence[str | None],
        *,
        piece: str | None,
        composer: str | None,
        level: str | None,
        focus: Mapping[int, str] | None = None,
    ) -> list[Part]:
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
                messages = dimension_messages(
                    report, name, hits[i], i + 1, piece=piece, composer=composer, level=level, focus=quote
                )
                parts.append(
                    Part(
                        f"{prefix}{head}: ",
                        messages,
                        DIMENSION_MAX_TOKENS,
                        i + 1,
                        prompt_wording(messages),
                        advice_clause(hits[i], i + 1, name, quote),
                    )
                )
            prefix = "\n"
        return parts

    # --- chat --------------------------------------------------------------------------------
    def chat(
        self,
        *,
        question: str,
        history: Sequence[ChatTurn],
        report: ScoreReport | None,
        cancel: Cancel | None = None,
    ) -> FeedbackResult:
        return _final(self._chat_events(question, history, report, "complete", cancel))

    def chat_stream(
        self,
        *,
        question: str,
        history: Sequence[ChatTurn],
        report: ScoreReport | None,
        cancel: Cancel | None = None,
    ) -> Iterator[FeedbackEvent]:
        yield from self._chat_events(question, history, report, "stream", cancel)

    def _chat_events(
        self,
        question: str,
        history: Sequence[ChatTurn],
        report: ScoreReport | None,
        mode: LLMMode,
        cancel: Cancel | None = None,
    ) -> Iterator[FeedbackEvent]:
        started = time.perf_counter()
        t = time.perf_counter()
        query = RetrievalQuery(None, condensed_question(question, history))
        hits, _ = self.retrieve([query])
        latency = {"retrieval": elapsed_ms(t)}
        messages = chat_messages(
            question, history, hits, report, max_turns=self.config.feedback_history_turns
        )
        yield from self._answer(
            [Part("", messages)],
            hits,
            latency,
            started,
            mode,
            fallback=lambda: fallback_answer(question, hits),
            cancel=cancel,
        )

    # --- shared: LLM, check, fallback --------------------------------------------------------
    def _answer(
        self,
        parts: Sequence[Part],
        hits: list[SearchHit],
        latency: dict[str, float],
        started: float,
        mode: LLMMode,
        *,
        fallback: Callable[[], str],
        cancel: Cancel | None = None,
    ) -> Iterator[FeedbackEvent]:
        """Ask the LLM, check its citations and grounding, fall back where it failed; ends with ``done``.
        Raises GenerationCancelled once ``cancel`` is set (nobody is left to read the answer)."""
        yield FeedbackEvent(type="start")
        t = time.perf_counter()
        draft, error = yield from self._ask(parts, hits, mode, cancel)
        check_cancel(cancel)
        latency["llm"] = elapsed_ms(t)
        checked, raw_checked = self._check_citations(draft, hits, latency)
        if checked is not None and not checked.citations:
            error = NO_CITATION
        t = time.perf_counter()
        grounding, error = self._ground_llm_answer(checked, error)
        trace = _trace(draft, checked, raw_checked, grounding, error)
        if error is not None:
            log.warning("feedback falls back: %s", error)
            yield FeedbackEvent(type="error", message=error)
            checked, grounding = check_citations(fallback(), hits), None
        assert checked is not None
        if grounding is None:
            grounding = check_grounding(checked, self.config)
        latency["grounding"] = elapsed_ms(t)
        latency["total"] = elapsed_ms(started)
        yield FeedbackEvent(
            type="done",
            result=final_result(
                checked,
                grounding,
                answered=not error,
                llm_error=error,
                model=self.llm.model,
                latency=latency,
                trace=trace,
            ),
        )

    def _ask(
        self, parts: Sequence[Part], hits: Sequence[SearchHit], mode: LLMMode, cancel: Cancel | None = None
    ) -> Generator[FeedbackEvent, None, tuple[_Draft | None, str | None]]:
        """The LLM's draft over all parts (its deltas streamed as events in stream mode), or why there is none."""
        if mode == "skip":
            return None, NOT_ASKED
        draft = _Draft()
        try:
            for part in parts:
                yield from self._ask_part(part, hits, mode, draft, cancel)
        except GenerationCancelled:
            raise
        except LLMError as err:
            return None, err.message
        except Exception as err:  # noqa: BLE001 - whatever the LLM layer does, the student gets feedback
            log.exception("unexpected LLM failure")
            return None, f"LLM failed: {type(err).__name__}"
        return draft, None

    def _ask_part(
        self,
        part: Part,
        hits: Sequence[SearchHit],
        mode: LLMMode,
        draft: _Draft,
        cancel: Cancel | None = None,
    ) -> Generator[FeedbackEvent, None, None]:
        """One part: Cadenza's prefix, then the LLM's answer (per-dimension answers post-processed)."""
        if part.prefix:
            draft.raw += part.prefix
            if mode == "stream":
                yield FeedbackEvent(type="delta", text=part.prefix)
        if part.messages is None:
            draft.text += part.prefix
            return
        answer = yield from self._complete(part.messages, part.max_tokens, mode, cancel)
        if part.source_n is None:
            draft.raw += answer
            draft.text += part.prefix + answer
            return
        answer = complete_sentences(strip_echoed_sources(answer, hits))
        answer = drop_echoes(drop_debris(answer), part.wording)
        draft.raw += answer
        if answer:
            draft.text += part.prefix + attribute(answer, part.source_n)
        elif part.fallback:  # nothing usable left (all echo or debris): the cited quote instead
            draft.text += part.prefix + part.fallback
            draft.filled += 1
        else:
            draft.text += re.sub(r":\s*$", ".", part.prefix)

    def _complete(
        self, messages: list[Message], max_tokens: int | None, mode: LLMMode, cancel: Cancel | None = None
    ) -> Generator[FeedbackEvent, None, str]:
        if mode != "stream":
            return self.llm.complete(messages, max_tokens=max_tokens, cancel=cancel).text
        deltas = []
        for delta in self.llm.stream(messages, max_tokens=max_tokens, cancel=cancel):
            deltas.append(delta)
            yield FeedbackEvent(type="delta", text=delta)
        return "".join(deltas)

    def _check_citations(
        self, draft: _Draft | None, hits: Sequence[SearchHit], latency: dict[str, float]
    ) -> tuple[CheckedText | None, CheckedText | None]:
        """The draft's text checked, and its raw text checked (raw validity: the model's own markers)."""
        if draft is None:
            return None, None
        t = time.perf_counter()
        checked = check_citations(strip_echoed_sources(draft.text, hits), hits)
        raw_checked = check_citations(strip_echoed_sources(draft.raw, hits), hits)
        latency["citation_check"] = elapsed_ms(t)
        return checked, raw_checked

    def _ground_llm_answer(
        self, checked: CheckedText | None, error: str | None
    ) -> tuple[GroundingReport | None, str | None]:
        """The grounding of the LLM's checked answer, where the support policy needs it or `rag-eval` wants it
        (also for an answer the policy then rejects); the error, if the policy rejects it."""
        if checked is None:
            return None, error
        grounding = None
        if error is None and self.config.require_support:
            grounding = check_grounding(checked, self.config)
            if not any(c.supported for c in checked.citations):
                error = NO_SUPPORT
        if grounding is None and checked.citations:
            grounding = check_grounding(checked, self.config)
        return grounding, error


def _trace(
    draft: _Draft | None,
    checked: CheckedText | None,
    raw_checked: CheckedText | None,
    grounding: GroundingReport | None,
    error: str | None,
) -> GenerationTrace:
    if draft is None or checked is None or raw_checked is None:  # the LLM gave no answer
        return GenerationTrace()
    return GenerationTrace(
        raw_text=draft.raw,
        raw_validity=raw_checked.raw_validity,
        candidate_text=checked.text,
        candidate_grounding_rate=None if grounding is None else grounding.rate,
        filled_parts=draft.filled if error is None else 0,
    )
