"""Generation: from a score report and retrieved passages to cited feedback. Queries in the pedagogy books'
words (``query``, ``dimension_words``), prompts, the LLM through litellm (a local llama.cpp server by
default), the citation check, grounding, and a deterministic cited fallback, behind ``FeedbackService``.

Configuration comes in as a ``GenerationConfig`` (built by ``api.settings.Settings.generation_config()``).
The service, the LLM client and the local server load lazily: importing this package starts nothing and
imports neither litellm nor a model."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from rag.generation.config import GROUNDING_THRESHOLD, GenerationConfig
from rag.generation.dimension_words import DIMENSION_WORDS, DimensionWords
from rag.generation.errors import (
    FeedbackInputError,
    GenerationCancelled,
    GenerationConfigError,
    GenerationError,
    LLMError,
    LLMTimeout,
)
from rag.generation.feedback_types import ChatTurn, Citation, FeedbackEvent, FeedbackResult, GenerationTrace
from rag.generation.query import RetrievalQuery, condensed_question, feedback_queries, queries_from_report

if TYPE_CHECKING:
    from rag.generation.feedback import FeedbackService
    from rag.generation.llm import Completion, LLMClient
    from rag.generation.local_llm import LocalLLMServer

_LAZY = {
    "Completion": "rag.generation.llm",
    "FeedbackService": "rag.generation.feedback",
    "LLMClient": "rag.generation.llm",
    "LocalLLMServer": "rag.generation.local_llm",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DIMENSION_WORDS",
    "GROUNDING_THRESHOLD",
    "ChatTurn",
    "Citation",
    "Completion",
    "DimensionWords",
    "FeedbackEvent",
    "FeedbackInputError",
    "FeedbackResult",
    "FeedbackService",
    "GenerationCancelled",
    "GenerationConfig",
    "GenerationConfigError",
    "GenerationError",
    "GenerationTrace",
    "LLMClient",
    "LLMError",
    "LLMTimeout",
    "LocalLLMServer",
    "RetrievalQuery",
    "condensed_question",
    "feedback_queries",
    "queries_from_report",
]
