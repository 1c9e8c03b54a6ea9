"""Retrieval result types shared by the CLI (`cadenza search --json`), the API and feedback."""

from __future__ import annotations

from pydantic import BaseModel, field_validator

from corpus.urls import web_url_or_none


class SourceRef(BaseModel):
    document_id: str
    title: str
    author: str | None = None
    year: str | None = None
    url: str | None = None  # http(s) only: clients turn it into a link

    @field_validator("url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        return web_url_or_none(value)


class SearchHit(BaseModel):
    rank: int  # starts at 1
    score: float
    chunk_id: str
    text: str
    section: str | None
    char_start: int
    char_end: int
    source: SourceRef


class IndexReport(BaseModel):
    added: int = 0  # documents newly indexed
    skipped: int = 0  # unchanged documents (same normalised SHA-256)
    replaced: int = 0  # documents whose text changed
    chunks_added: int = 0
    chunks_removed: int = 0


class FlaggedChunk(BaseModel):
    """A chunk the injection detector flagged (corpus/injection.py): kept out of searches, listed for an admin."""

    chunk_id: str
    document_id: str
    title: str
    section: str | None
    char_start: int
    char_end: int
    reason: str
    text: str
