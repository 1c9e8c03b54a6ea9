"""Retrieval-augmented feedback: ``rag.retrieval`` (the pedagogy corpus behind the ``Retriever``),
``rag.generation`` (prompts, the LLM, citation and grounding checks, the cited fallback) and the job that
runs them after the scorer (``rag.job.FeedbackJob``: score → evidence → retrieve → generate → check).

Names load lazily: importing this package loads neither subpackage."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.job import FeedbackJob, FeedbackOutcome

_LAZY = {
    "FeedbackJob": "rag.job",
    "FeedbackOutcome": "rag.job",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["FeedbackJob", "FeedbackOutcome"]
