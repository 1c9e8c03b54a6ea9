"""Catalogue tables: the source of truth from which every retrieval index is derived."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from corpus.db import Base


def _now() -> datetime:
    return datetime.now(UTC)


class DocumentRow(Base):
    __tablename__ = "documents"

    document_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    slug: Mapped[str | None] = mapped_column(String(200), index=True)
    title: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    year: Mapped[str | None] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(Text)
    licence: Mapped[str | None] = mapped_column(Text)
    source_type: Mapped[str] = mapped_column(String(50), default="book")
    sha256: Mapped[str] = mapped_column(String(64), unique=True, index=True)  # of the normalised text
    text: Mapped[str] = mapped_column(Text)  # the source text chunk offsets point into
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    chunks: Mapped[list[ChunkRow]] = relationship(
        back_populates="document",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ChunkRow.ordinal",
    )


class ChunkRow(Base):
    __tablename__ = "chunks"
    __table_args__ = {"sqlite_autoincrement": True}  # SQLite would otherwise reuse the highest freed id

    # Integer key used by the derived indexes (FAISS ids, Qdrant point ids); never reused, so an
    # index can tell an old chunk from a new one after a document is replaced.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chunk_id: Mapped[str] = mapped_column(String(260), unique=True, index=True)
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.document_id", ondelete="CASCADE"), index=True
    )
    ordinal: Mapped[int] = mapped_column(Integer)
    section: Mapped[str | None] = mapped_column(Text)
    char_start: Mapped[int] = mapped_column(Integer)
    char_end: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    embed_text: Mapped[str] = mapped_column(Text)  # context header + text: what the dense index embeds
    n_tokens: Mapped[int] = mapped_column(Integer)
    tags: Mapped[dict] = mapped_column(JSON, default=dict)  # composers, pieces, techniques, dimensions
    document: Mapped[DocumentRow] = relationship(back_populates="chunks")


class IndexStateRow(Base):
    """``catalogue``: generation bumped by every committed change and the model the chunks were sized
    for. Other rows: shared indexes (a Qdrant collection) with the generation they reflect."""

    __tablename__ = "index_state"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    model_name: Mapped[str | None] = mapped_column(Text)
    dimension: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)
