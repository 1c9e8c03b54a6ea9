"""Search filters: source, author, composer, technique, source type."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from corpus.catalogue import ChunkRecord, DocumentInfo
from rag.retrieval.errors import QueryError

FILTER_KEYS = ("source", "author", "composer", "technique", "source_type")


def _norm(value: str) -> str:
    return " ".join(value.lower().replace("_", " ").replace("-", " ").split())


def validate_filters(filters: Mapping[str, str] | None) -> dict[str, str]:
    if not filters:
        return {}
    clean: dict[str, str] = {}
    for key, value in filters.items():
        if key not in FILTER_KEYS:
            raise QueryError(f"unknown filter {key!r} (use one of: {', '.join(FILTER_KEYS)})")
        if not str(value).strip():
            raise QueryError(f"filter {key!r} needs a value")
        clean[key] = str(value).strip()
    return clean


def chunk_matches(chunk: ChunkRecord, document: DocumentInfo, filters: Mapping[str, str]) -> bool:
    for key, value in filters.items():
        wanted = _norm(value)
        if key == "source":
            names = [document.document_id, document.slug or "", document.title]
            if not any(wanted == _norm(n) or (len(wanted) > 3 and wanted in _norm(n)) for n in names):
                return False
        elif key == "author":
            if wanted not in _norm(document.author or ""):
                return False
        elif key == "composer":
            if wanted not in {_norm(c) for c in chunk.tags.get("composers", [])}:
                return False
        elif key == "technique":
            tags = {_norm(t) for t in chunk.tags.get("techniques", []) + chunk.tags.get("dimensions", [])}
            if wanted not in tags:
                return False
        elif key == "source_type":
            if wanted != _norm(document.source_type):
                return False
    return True


def allowed_seqs(
    chunks: Iterable[ChunkRecord], documents: Mapping[str, DocumentInfo], filters: Mapping[str, str]
) -> set[int]:
    return {
        c.seq
        for c in chunks
        if c.document_id in documents and chunk_matches(c, documents[c.document_id], filters)
    }
