"""The last step both feedback strategies share: timing figures and the final ``FeedbackResult`` from checked
text and its grounding (the free-text strategies in feedback.py, the structured one in structured_feedback.py)."""

from __future__ import annotations

import time

from rag.generation.citations import CheckedText
from rag.generation.feedback_types import FeedbackResult, GenerationTrace
from rag.generation.grounding import GroundingReport


def elapsed_ms(since: float) -> float:
    """Milliseconds since ``since`` (a ``time.perf_counter()`` reading), to 0.1 ms."""
    return round((time.perf_counter() - since) * 1000, 1)


def final_result(
    checked: CheckedText,
    grounding: GroundingReport,
    *,
    answered: bool,
    llm_error: str | None,
    model: str,
    latency: dict[str, float],
    trace: GenerationTrace,
) -> FeedbackResult:
    """The answer the student gets: the LLM's (``answered``, named by ``model``) or the fallback's, with
    ``llm_error`` saying why."""
    return FeedbackResult(
        text=checked.text,
        generator="llm" if answered else "fallback",
        model=model if answered else None,
        citations=checked.citations,
        invalid_markers=checked.invalid_markers,
        grounding_rate=None if grounding.rate is None else round(grounding.rate, 4),
        llm_error=None if answered else llm_error,
        latency_ms=latency,
        trace=trace,
    )
