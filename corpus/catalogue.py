"""The catalogue (SQLAlchemy): documents, chunks and index state. Every change is one transaction
that also bumps the catalogue generation, so a crash leaves either the whole document or none of it,
and every process can tell that its derived indexes are behind."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, field_validator
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from corpus.db import Base, make_engine, session_factory
from corpus.errors import DocumentNotFound
from corpus.injection import injection_flag
from corpus.models import ChunkRow, DocumentRow, IndexStateRow
from corpus.urls import web_url_or_none

CATALOGUE_STATE = "catalogue"


class DocumentInfo(BaseModel):
    document_id: str
    slug: str | None
    title: str
    author: str | None
    year: str | None
    url: str | None
    licence: str | None
    source_type: str
    n_chunks: int
    sha256: str

    @field_validator("url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        # A URL stored before uploads were checked: only http(s) is ever handed out (it becomes a link).
        return web_url_or_none(value)


@dataclass(frozen=True)
class NewChunk:
    chunk_id: str
    ordinal: int
    section: str | None
    char_start: int
    char_end: int
    text: str
    embed_text: str
    n_tokens: int
    tags: dict[str, list[str]]


@dataclass(frozen=True)
class ChunkRecord:
    """A chunk with the document fields a search hit needs (loaded into the retriever's memory)."""

    seq: int
    chunk_id: str
    document_id: str
    section: str | None
    char_start: int
    char_end: int
    text: str
    embed_text: str
    tags: dict[str, list[str]]
    # Why the injection detector flagged this chunk (None: clean). Derived from the text whenever a chunk
    # is read, so every store, old or new, is checked by the current rules without a migration.
    flag: str | None = None


def _record(row: Sequence[Any]) -> ChunkRecord:
    """A chunk row (the columns of ChunkRecord, in order) with its injection flag."""
    seq, chunk_id, document_id, section, char_start, char_end, text, embed_text, tags = row
    return ChunkRecord(
        seq,
        chunk_id,
        document_id,
        section,
        char_start,
        char_end,
        text,
        embed_text,
        tags,
        flag=injection_flag(text),
    )


class Catalogue:
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        tables = [Base.metadata.tables[row.__tablename__] for row in (DocumentRow, ChunkRow, IndexStateRow)]
        Base.metadata.create_all(self.engine, tables=tables)
        self._sessions = session_factory(self.engine)

    def session(self) -> Session:
        return self._sessions()

    # --- state --------------------------------------------------------------------------------
    def generation(self) -> int:
        with self.session() as s:
            value = s.scalar(select(IndexStateRow.generation).where(IndexStateRow.name == CATALOGUE_STATE))
            return int(value or 0)

    def state(self, name: str) -> IndexStateRow | None:
        with self.session() as s:
            return s.get(IndexStateRow, name)

    def set_state(self, name: str, *, generation: int, model_name: str | None, dimension: int | None) -> None:
        with self.session() as s, s.begin():
            row = s.get(IndexStateRow, name)
            if row is None:
                s.add(
                    IndexStateRow(
                        name=name, generation=generation, model_name=model_name, dimension=dimension
                    )
                )
            else:
                row.generation, row.model_name, row.dimension = generation, model_name, dimension

    @staticmethod
    def _bump(s: Session, model_name: str | None = None, dimension: int | None = None) -> int:
        row = s.get(IndexStateRow, CATALOGUE_STATE, with_for_update=True)
        if row is None:
            row = IndexStateRow(name=CATALOGUE_STATE, generation=0)
            s.add(row)
        row.generation = (row.generation or 0) + 1
        if model_name is not None:
            row.model_name, row.dimension = model_name, dimension
        return row.generation

    # --- documents ----------------------------------------------------------------------------
    def document(self, document_id: str) -> DocumentRow | None:
        if "\x00" in document_id:  # as in _by_id_or_slug
            return None
        with self.session() as s:
            return s.get(DocumentRow, document_id)

    def document_by_sha(self, sha256: str) -> DocumentRow | None:
        with self.session() as s:
            return s.scalar(select(DocumentRow).where(DocumentRow.sha256 == sha256))

    def put_document(
        self, document: DocumentRow, chunks: Sequence[NewChunk], *, model_name: str, dimension: int
    ) -> tuple[bool, int]:
        """Insert ``document`` with its chunks, replacing a document with the same id, in one
        transaction. Returns (replaced, number of chunks removed)."""
        with self.session() as s, s.begin():
            old = s.get(DocumentRow, document.document_id)
            removed = 0
            if old is not None:
                removed = (
                    s.scalar(
                        select(func.count())
                        .select_from(ChunkRow)
                        .where(ChunkRow.document_id == old.document_id)
                    )
                    or 0
                )
                s.execute(delete(ChunkRow).where(ChunkRow.document_id == old.document_id))
                s.delete(old)
                s.flush()
            s.add(document)
            s.flush()
            for c in chunks:
                s.add(
                    ChunkRow(
                        chunk_id=c.chunk_id,
                        document_id=document.document_id,
                        ordinal=c.ordinal,
                        section=c.section,
                        char_start=c.char_start,
                        char_end=c.char_end,
                        text=c.text,
                        embed_text=c.embed_text,
                        n_tokens=c.n_tokens,
                        tags=c.tags,
                    )
                )
            self._bump(s, model_name, dimension)
        return old is not None, int(removed)

    @staticmethod
    def _by_id_or_slug(s: Session, key: str) -> DocumentRow | None:
        """The document with id ``key``, else the one stored with slug ``key`` (slug 'qa-html' has id 'qa_html')."""
        if "\x00" in key:  # names nothing, and Postgres would refuse the query rather than find nothing
            return None
        row = s.get(DocumentRow, key)
        if row is not None:
            return row
        rows = s.scalars(select(DocumentRow).where(DocumentRow.slug == key).limit(2)).all()
        return rows[0] if len(rows) == 1 else None

    def resolve_document_id(self, key: str) -> str | None:
        """The id of the document with id or slug ``key``; None when there is none."""
        with self.session() as s:
            row = self._by_id_or_slug(s, key)
            return row.document_id if row is not None else None

    def remove_document(self, document_id: str) -> int:
        """Remove a document, given by id or by slug, and its chunks."""
        with self.session() as s, s.begin():
            row = self._by_id_or_slug(s, document_id)
            if row is None:
                raise DocumentNotFound(f"no document with id or slug {document_id!r}")
            document_id = row.document_id
            removed = (
                s.scalar(
                    select(func.count()).select_from(ChunkRow).where(ChunkRow.document_id == document_id)
                )
                or 0
            )
            s.execute(delete(ChunkRow).where(ChunkRow.document_id == document_id))
            s.delete(row)
            self._bump(s)
        return int(removed)

    def list_documents(self) -> list[DocumentInfo]:
        with self.session() as s:
            counts = dict(
                s.execute(select(ChunkRow.document_id, func.count()).group_by(ChunkRow.document_id)).all()
            )
            rows = s.scalars(select(DocumentRow).order_by(DocumentRow.document_id)).all()
            return [
                DocumentInfo(
                    document_id=r.document_id,
                    slug=r.slug,
                    title=r.title,
                    author=r.author,
                    year=r.year,
                    url=r.url,
                    licence=r.licence,
                    source_type=r.source_type,
                    n_chunks=int(counts.get(r.document_id, 0)),
                    sha256=r.sha256,
                )
                for r in rows
            ]

    def documents_meta(self) -> dict[str, DocumentInfo]:
        return {d.document_id: d for d in self.list_documents()}

    # --- chunks -------------------------------------------------------------------------------
    def chunk_seqs(self) -> set[int]:
        with self.session() as s:
            return set(s.scalars(select(ChunkRow.seq)).all())

    def chunks(self, seqs: Sequence[int] | None = None) -> Iterator[ChunkRecord]:
        query = select(
            ChunkRow.seq,
            ChunkRow.chunk_id,
            ChunkRow.document_id,
            ChunkRow.section,
            ChunkRow.char_start,
            ChunkRow.char_end,
            ChunkRow.text,
            ChunkRow.embed_text,
            ChunkRow.tags,
        ).order_by(ChunkRow.seq)
        with self.session() as s:
            if seqs is None:
                for row in s.execute(query):
                    yield _record(tuple(row))
                return
            ordered = sorted(seqs)
            for offset in range(0, len(ordered), 900):
                for row in s.execute(query.where(ChunkRow.seq.in_(ordered[offset : offset + 900]))):
                    yield _record(tuple(row))

    def close(self) -> None:
        self.engine.dispose()
