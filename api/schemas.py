"""Request and response models of the REST service (``XCreate`` in, ``XPublic`` out)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from corpus.urls import web_url_or_none
from rag.retrieval.types import IndexReport
from scorer.schema import ScoreReport

JobStatus = Literal["queued", "running", "done", "failed"]
# SQLite returns naive datetimes (stored in UTC); the API always answers with an explicit offset.
UTCDatetime = Annotated[datetime, AfterValidator(lambda d: d if d.tzinfo else d.replace(tzinfo=UTC))]


def _web_urls_only(citations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored citations as handed out: a URL other than http(s) (stored before uploads were checked) is dropped."""
    return [
        {**c, "url": web_url_or_none(c["url"] if isinstance(c["url"], str) else None)}
        if isinstance(c, dict) and c.get("url") is not None
        else c
        for c in citations
    ]


def _feedback_web_urls_only(feedback: dict[str, Any]) -> dict[str, Any]:
    citations = feedback.get("citations")
    return {**feedback, "citations": _web_urls_only(citations)} if isinstance(citations, list) else feedback


class RequestModel(BaseModel):
    """A request body or form. No text field may hold a NUL character: a Postgres text column cannot store
    one, so it is refused here (422) rather than failing in the database (500)."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text may not contain a NUL character")
        return value


StoredCitations = Annotated[list[dict[str, Any]], AfterValidator(_web_urls_only)]
StoredFeedback = Annotated[dict[str, Any], AfterValidator(_feedback_web_urls_only)]


class ErrorBody(BaseModel):
    code: str
    message: str
    detail: Any = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: dict[str, str]


# --- performances ------------------------------------------------------------------------------


class PerformanceCreated(BaseModel):
    id: str
    status: JobStatus


class PerformanceSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    status: JobStatus
    title: str | None
    composer: str | None
    piece: str | None
    level: str | None
    bar_times: list[float] | None = Field(None, description="Bar start times (s) sent with the upload.")
    filename: str | None
    score_filename: str | None = Field(
        None, description="Name of the score (MIDI, MusicXML or .mxl) sent with the upload, if any."
    )
    score_sha256: str | None = Field(
        None, description="SHA-256 of the score file sent with the upload, if any."
    )
    size_bytes: int
    duration_s: float | None
    error: str | None
    created_at: UTCDatetime
    updated_at: UTCDatetime


class PerformancePublic(PerformanceSummary):
    report: ScoreReport | None = Field(None, description="The scorer output once status is 'done'.")


class PerformanceList(BaseModel):
    items: list[PerformanceSummary]


# --- feedback ----------------------------------------------------------------------------------


class FeedbackCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    performance_id: str | None = Field(None, max_length=64, description="A scored performance of the caller.")
    scores: ScoreReport | None = Field(None, description="A scorer output (`cadenza score --json`).")
    piece: str | None = Field(None, max_length=300)
    composer: str | None = Field(None, max_length=300)
    level: str | None = Field(None, max_length=100)

    @model_validator(mode="after")
    def _one_source(self) -> FeedbackCreate:
        if (self.performance_id is None) == (self.scores is None):
            raise ValueError("give exactly one of performance_id and scores")
        return self


class FeedbackPublic(BaseModel):
    """The feedback JSON contract (`cadenza feedback --json`), plus where it is stored."""

    id: str | None = Field(None, description="Stored feedback id (only for a performance_id request).")
    performance_id: str | None
    performance: ScoreReport
    feedback: StoredFeedback
    latency_ms: dict[str, float]
    created_at: UTCDatetime | None = None


class FeedbackList(BaseModel):
    items: list[FeedbackPublic]


# --- tutor sessions ----------------------------------------------------------------------------


class SessionCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    performance_id: str | None = Field(None, max_length=64)


class MessageCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, max_length=4000)


class MessagePublic(BaseModel):
    id: str
    seq: int
    role: Literal["user", "assistant"]
    content: str
    citations: StoredCitations = Field(default_factory=list)
    generator: str | None = None
    created_at: UTCDatetime


class SessionPublic(BaseModel):
    id: str
    performance_id: str | None
    created_at: UTCDatetime
    messages: list[MessagePublic]


class SessionList(BaseModel):
    items: list[SessionPublic]


class ReplyPublic(BaseModel):
    session_id: str
    message: MessagePublic
    feedback: StoredFeedback = Field(description="The full answer: text, citations, generator, latency.")


# --- documents ---------------------------------------------------------------------------------


class DocumentIndexed(BaseModel):
    document_id: str
    report: IndexReport
    skipped: bool = Field(False, description="The same text was already indexed: nothing was changed.")
    note: str | None = Field(None, description="Why nothing changed, and which sent fields were ignored.")


class DocumentList(BaseModel):
    items: list[dict[str, Any]]
