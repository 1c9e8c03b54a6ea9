"""Feedback contract: what `cadenza feedback --json`, the REST feedback endpoint and chat return.

``FeedbackResult`` is the issue-5 JSON ``feedback`` object; ``FeedbackEvent`` is one item of a
stream (start → delta* → [error] → done). The ``done`` event carries the checked result, whose
text replaces the streamed draft (citations are only checked on the complete text)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from corpus.urls import web_url_or_none


class Citation(BaseModel):
    n: int = Field(description="Marker number in the final text, 1.. in order of first use.")
    chunk_id: str
    title: str
    author: str | None = None
    year: str | None = None
    section: str | None = None
    url: str | None = None
    char_start: int
    char_end: int
    supported: bool | None = Field(None, description="Grounding check; None when it was not run.")
    support_score: float | None = Field(None, description="Best support score of the sentences citing it.")

    @field_validator("url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        # http(s) only: the page and other clients turn it into a link.
        return web_url_or_none(value)


class GenerationTrace(BaseModel):
    """How an answer came about, for `rag-eval feedback`; not part of the JSON contract (never serialised)."""

    model_config = ConfigDict(frozen=True)

    raw_text: str | None = (
        None  # what the LLM wrote (with Cadenza's prefixes) before any check; None: no answer
    )
    raw_validity: float | None = None  # share of the raw text's references to a given source; None: no marker
    candidate_text: str | None = (
        None  # the LLM's answer after the citation check, also where it was then replaced
    )
    candidate_grounding_rate: float | None = None
    filled_parts: int = (
        0  # per-dimension parts whose model answer had nothing usable left (the cited quote stood in)
    )


class FeedbackResult(BaseModel):
    text: str
    generator: Literal["llm", "fallback"]
    model: str | None = None
    citations: list[Citation] = Field(default_factory=list)
    invalid_markers: list[str] = Field(
        default_factory=list, description="Raw markers removed: no such source."
    )
    grounding_rate: float | None = Field(
        None, description="Share of cited sentences supported by their passage."
    )
    llm_error: str | None = Field(
        None, description="Why the fallback answered (timeout, error, no citation)."
    )
    latency_ms: dict[str, float] = Field(default_factory=dict)
    # For `rag-eval feedback`; excluded from the JSON contract (model_dump and the SSE events leave it out).
    trace: GenerationTrace = Field(GenerationTrace(), exclude=True)


class ChatTurn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class FeedbackEvent(BaseModel):
    type: Literal["start", "delta", "error", "done"]
    text: str | None = None  # delta: the new tokens
    message: str | None = None  # error: why the LLM answer was abandoned
    result: FeedbackResult | None = None  # done: the checked answer
