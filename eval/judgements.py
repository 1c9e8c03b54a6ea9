"""Relevance judgements: the data model every loader produces and the runner consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

JudgementFormat = Literal["spans", "hofmann", "beir", "trec"]


@dataclass(frozen=True)
class GoldSpan:
    """A relevant passage as a character span of a source document (spans and Hofmann formats)."""

    source: str  # corpus slug (file stem)
    start: int
    end: int
    grade: int


@dataclass(frozen=True)
class GoldId:
    """A relevant item named by id: a document slug (BEIR) or a chunk id (TREC)."""

    item_id: str
    grade: int


@dataclass(frozen=True)
class EvalQuery:
    query_id: str
    text: str
    dimension: str | None
    gold: tuple[GoldSpan, ...] | tuple[GoldId, ...]
    line: int  # where it was read, for error messages


@dataclass
class EvalSet:
    """Queries with their judgements, plus what the index must contain for them to make sense."""

    name: str
    format: JudgementFormat
    queries: list[EvalQuery]
    # Source texts replaced in the indexed copy (Hofmann mode: the masked book), slug -> text.
    replaced_sources: dict[str, str] = field(default_factory=dict)
    # Documents to index instead of a corpus folder (BEIR corpus.jsonl), slug -> (title, text).
    documents: dict[str, tuple[str, str]] = field(default_factory=dict)
    # GoldId items are document slugs (BEIR) or chunk ids (TREC).
    id_kind: Literal["document", "chunk"] = "document"

    @property
    def by_span(self) -> bool:
        return self.format in ("spans", "hofmann")
