"""Generation's errors: one root, no HTTP knowledge (the API maps them to status codes in one table).

GenerationError
├── FeedbackInputError       a feedback request that cannot be answered (no recording, bad report …)
├── GenerationConfigError    settings or installed models that cannot work (no GGUF, no llama.cpp …)
├── GenerationCancelled      the caller cancelled (its client left): the LLM call was stopped
└── LLMError                 the LLM failed (error, refused, bad answer)
    └── LLMTimeout           the LLM did not answer in time
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "FeedbackInputError",
    "GenerationCancelled",
    "GenerationConfigError",
    "GenerationError",
    "LLMError",
    "LLMTimeout",
]


class GenerationError(Exception):
    """Root of every error generation raises on purpose."""

    def __init__(self, message: str, *, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class FeedbackInputError(GenerationError):
    """A feedback request that cannot be answered as asked."""


class GenerationConfigError(GenerationError):
    """Generation is configured or installed in a way that cannot work."""


class GenerationCancelled(GenerationError):
    """The caller cancelled the generation (its client left); not an LLM failure, so there is no fallback."""


class LLMError(GenerationError):
    """The LLM call failed."""


class LLMTimeout(LLMError):
    """The LLM did not answer in time."""
