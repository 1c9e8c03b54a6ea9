"""The feedback job: score → evidence → retrieve → generate → check, the one path behind `cadenza feedback`,
the REST feedback and tutor endpoints and `rag-eval feedback`.

It takes components the caller built (the API layer builds them from its settings), or how to get them:
the scorer and the retriever are providers called on first need, so that the CLI scores a recording before
it opens (and on a first run indexes) the corpus, and the API loads neither until a request needs it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rag.generation.config import GenerationConfig
from rag.generation.errors import FeedbackInputError
from rag.generation.feedback import FeedbackService
from rag.generation.feedback_types import ChatTurn, FeedbackEvent, FeedbackResult
from rag.generation.llm import Cancel, LLMClient, model_name
from rag.generation.structured import warm_up_messages
from scorer.schema import ScoreReport

if TYPE_CHECKING:
    from rag.retrieval.retriever import Retriever
    from scorer.inference.align import NotatedScore
    from scorer.inference.service import Scorer


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


def start_llm_warm_up(config: GenerationConfig) -> threading.Thread | None:
    """Start the embedded llama.cpp server in a background thread and have it evaluate the structured prompt's
    fixed part (llama.cpp keeps it for the next request). None when there is nothing to warm: a configured
    server (warmed by whoever runs it), another strategy, or ``local_llm_warm_up`` off."""
    if not (config.embedded and config.structured and config.local_llm_warm_up):
        return None
    thread = threading.Thread(
        target=LLMClient(config).warm_up, args=(warm_up_messages(),), name="llm-warm-up", daemon=True
    )
    thread.start()
    return thread


@dataclass(frozen=True)
class FeedbackOutcome:
    """A whole job's output: what `cadenza feedback --json` prints (``performance``, ``feedback``, ``latency_ms``)."""

    report: ScoreReport
    feedback: FeedbackResult
    latency_ms: dict[str, float] = field(default_factory=dict)

    def payload(self) -> dict[str, object]:
        return {
            "performance": self.report.model_dump(mode="json"),
            "feedback": self.feedback.model_dump(mode="json"),
            "latency_ms": self.latency_ms,
        }


class FeedbackJob:
    """Scoring (``score``), then retrieval, generation and the citation check (``generate``, ``stream``,
    ``fallback``, ``chat``); ``run`` does the whole job for one recording or report."""

    def __init__(
        self,
        config: GenerationConfig,
        retriever: Callable[[], Retriever],
        *,
        scorer: Callable[[], Scorer] | None = None,
        llm: LLMClient | None = None,
    ) -> None:
        self.config = config
        self._retriever = retriever
        self._scorer = scorer
        self._llm = llm
        self._service: FeedbackService | None = None

    @property
    def service(self) -> FeedbackService:
        """Retrieval, generation and checks over the retriever (opened on first need)."""
        if self._service is None:
            self._service = FeedbackService(self.config, self._retriever(), llm=self._llm)
        return self._service

    def prepare(self) -> FeedbackJob:
        """Open the retriever now (a first run indexes the corpus) rather than within the first request."""
        _ = self.service
        return self

    def warm_up(self) -> threading.Thread | None:
        """Start the embedded LLM and have it evaluate the prompt's fixed part in the background, while the
        recording is scored and the corpus opened, so that the answer waits for neither (None: nothing to warm,
        a configured server or an LLM given to the job)."""
        return None if self._llm is not None else start_llm_warm_up(self.config)

    @property
    def model(self) -> str:
        return self._llm.model if self._llm is not None else model_name(self.config)

    # --- the steps -------------------------------------------------------------------------------
    def score(self, recording: Path, *, score: NotatedScore | None = None) -> ScoreReport:
        if self._scorer is None:
            raise FeedbackInputError(
                "this feedback job has no scorer: give a scorer report instead of a recording"
            )
        return self._scorer().score_path(recording, source_name=recording.name, score=score)

    def generate(
        self,
        report: ScoreReport,
        *,
        piece: str | None = None,
        composer: str | None = None,
        level: str | None = None,
        cancel: Cancel | None = None,
    ) -> FeedbackResult:
        """``cancel``: set it when nobody wants the answer any more (the LLM call stops: GenerationCancelled)."""
        return self.service.generate(report, piece=piece, composer=composer, level=level, cancel=cancel)

    def stream(
        self,
        report: ScoreReport,
        *,
        piece: str | None = None,
        composer: str | None = None,
        level: str | None = None,
        cancel: Cancel | None = None,
    ) -> Iterator[FeedbackEvent]:
        return self.service.stream(report, piece=piece, composer=composer, level=level, cancel=cancel)

    def fallback(
        self, report: ScoreReport, *, piece: str | None = None, composer: str | None = None
    ) -> FeedbackResult:
        """The deterministic cited answer alone (what the student gets when the LLM fails)."""
        return self.service.fallback(report, piece=piece, composer=composer)

    def chat(
        self,
        *,
        question: str,
        history: Sequence[ChatTurn],
        report: ScoreReport | None,
        cancel: Cancel | None = None,
    ) -> FeedbackResult:
        return self.service.chat(question=question, history=history, report=report, cancel=cancel)

    def chat_stream(
        self,
        *,
        question: str,
        history: Sequence[ChatTurn],
        report: ScoreReport | None,
        cancel: Cancel | None = None,
    ) -> Iterator[FeedbackEvent]:
        return self.service.chat_stream(question=question, history=history, report=report, cancel=cancel)

    # --- the whole job -----------------------------------------------------------------------------
    def run(
        self,
        *,
        recording: Path | None = None,
        report: ScoreReport | None = None,
        score: NotatedScore | None = None,
        piece: str | None = None,
        composer: str | None = None,
        level: str | None = None,
    ) -> FeedbackOutcome:
        """Score ``recording`` (or take ``report``), then cited feedback. Latency: ``scoring`` (when it scored),
        ``open_retriever``, the service's own steps as ``feedback_<step>``, and ``total``."""
        if (recording is None) == (report is None):
            raise FeedbackInputError("give a recording or a scorer report")
        started = time.perf_counter()
        latency: dict[str, float] = {}
        self.warm_up()
        if recording is not None:
            report = self.score(recording, score=score)
            latency["scoring"] = _ms(started)
        assert report is not None
        t = time.perf_counter()
        service = self.service
        latency["open_retriever"] = _ms(t)
        result = service.generate(report, piece=piece, composer=composer, level=level)
        latency.update({f"feedback_{k}": v for k, v in result.latency_ms.items()})
        latency["total"] = _ms(started)
        return FeedbackOutcome(report, result, latency)
