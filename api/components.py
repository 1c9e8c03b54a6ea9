"""The heavy components (scorer, retriever, feedback job): built once per process, on first use.

Lazy so that `/healthz` answers at once and a test that never scores never loads the scorer.
Tests may replace a factory to inject a fault; everything else uses the real classes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from api.settings import Settings

if TYPE_CHECKING:
    from rag.job import FeedbackJob
    from rag.retrieval.retriever import Retriever
    from scorer.inference.service import Scorer

log = logging.getLogger("cadenza.api")


def _load_scorer(settings: Settings) -> Scorer:
    from scorer.inference.service import Scorer

    return Scorer.load(settings.scorer_config())


def _open_retriever(settings: Settings) -> Retriever:
    from rag.retrieval.retriever import Retriever

    return Retriever.open(settings.retrieval_config())


def _make_feedback(components: Components) -> FeedbackJob:
    """The feedback job over this process's scorer and retriever (each built on first need)."""
    from rag.job import FeedbackJob

    return FeedbackJob(
        components.settings.generation_config(), components.retriever, scorer=components.scorer
    )


class Components:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.scorer_factory: Callable[[Settings], Any] = _load_scorer
        self.retriever_factory: Callable[[Settings], Any] = _open_retriever
        self.feedback_factory: Callable[[Components], Any] = _make_feedback
        self._scorer: Scorer | None = None
        self._retriever: Retriever | None = None
        self._feedback: FeedbackJob | None = None
        self._warm_up_asked = False
        self._llm_warming: threading.Thread | None = None
        self._closing = threading.Event()  # stops the background fill of sentence vectors
        # One lock per component: loading the scorer must not block a search.
        self._locks = {name: threading.Lock() for name in ("scorer", "retriever", "feedback", "warm_up")}

    def scorer(self) -> Scorer:
        if self._scorer is None:
            with self._locks["scorer"]:
                if self._scorer is None:
                    log.info("loading the scorer (%s backend)", self.settings.scorer_backend)
                    self._scorer = self.scorer_factory(self.settings)
        return self._scorer

    def retriever(self) -> Retriever:
        if self._retriever is None:
            with self._locks["retriever"]:
                if self._retriever is None:
                    log.info("opening the retriever under %s", self.settings.home)
                    self._retriever = self.retriever_factory(self.settings)
        return self._retriever

    def feedback(self) -> FeedbackJob:
        if self._feedback is None:
            self.retriever()  # opened here, outside the feedback lock, as every feedback request needs it
            with self._locks["feedback"]:
                if self._feedback is None:
                    self._feedback = self.feedback_factory(self)
        return self._feedback

    def warm_up_feedback(self) -> threading.Thread | None:
        """Ready what feedback needs in the background, once per process (the service calls it as it starts):
        the retriever opened and the embedded LLM started with the prompt's fixed part read, so that the first
        feedback request pays neither (``local_llm_warm_up``). Returns the LLM's warm-up thread (None: nothing
        to warm there, e.g. a configured LLM server)."""
        with self._locks["warm_up"]:
            if self._warm_up_asked or not self.settings.local_llm_warm_up:
                return self._llm_warming
            from rag.job import start_llm_warm_up

            self._warm_up_asked = True
            threading.Thread(
                target=self._open_retriever_quietly, name="retriever-warm-up", daemon=True
            ).start()
            self._llm_warming = start_llm_warm_up(self.settings.generation_config())
        return self._llm_warming

    def _open_retriever_quietly(self) -> None:
        try:
            self.retriever()
        except Exception:  # noqa: BLE001 - best effort: the request that needs it opens it again and says why
            log.warning("opening the retriever ahead of feedback failed", exc_info=True)

    def fill_sentence_vectors_in_background(self) -> threading.Thread | None:
        """A first `cadenza feedback` leaves the corpus's sentence vectors to the searches (and marks the
        index): the service fills them as it starts, so its searches do not pay for them (a batch at a time,
        searches first; one worker of several does it). None when nothing was left."""
        from rag.retrieval.indexing import deferred_marker

        if not deferred_marker(self.settings.retrieval_config()).exists():
            return None
        thread = threading.Thread(target=self._fill_quietly, name="sentence-vectors", daemon=True)
        thread.start()
        return thread

    def _fill_quietly(self) -> None:
        try:
            if self.retriever().fill_sentence_vectors(stop=self._closing):
                log.info("sentence vectors of the index filled")
        except Exception:  # noqa: BLE001 - the searches embed what they need themselves
            if not self._closing.is_set():
                log.warning("filling the sentence vectors in the background failed", exc_info=True)

    @property
    def llm_warming(self) -> threading.Thread | None:
        """The warm-up thread once started (None before, or when there was nothing to warm)."""
        return self._llm_warming

    def loaded(self) -> dict[str, bool]:
        return {
            "scorer": self._scorer is not None,
            "retriever": self._retriever is not None,
            "feedback": self._feedback is not None,
        }

    def close(self) -> None:
        from rag.generation.local_llm import LocalLLMServer

        self._closing.set()
        if self._retriever is not None:
            self._retriever.close()
            self._retriever = None
        if self._feedback is not None or self._llm_warming is not None:
            LocalLLMServer.stop_shared()  # the feedback job or the warm-up may have started it
        self._feedback = None
        self._scorer = None
