"""The pedagogy corpus: loading documents (txt, md, html, pdf), the manifest, structure-aware chunking,
tags, and the catalogue of documents and chunks (SQLAlchemy; SQLite or PostgreSQL, by URL).

Everything it needs comes in by argument (a database URL, a path). The catalogue and loaders load lazily:
importing this package loads no database driver."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from corpus.errors import CorpusError, CorpusFetchError, DocumentError, DocumentNotFound, UnsupportedDocument
from corpus.urls import check_web_url, is_web_url, web_url_or_none

if TYPE_CHECKING:
    from corpus.catalogue import CATALOGUE_STATE, Catalogue, ChunkRecord, DocumentInfo, NewChunk
    from corpus.chunking import ChunkSpan, chunk_text, normalise_for_hash, sentence_spans
    from corpus.loaders import SUPPORTED_SUFFIXES, LoadedDocument, load_bytes, load_file
    from corpus.manifest import ManifestEntry, read_manifest
    from corpus.tags import tag_text

_LAZY = {
    "CATALOGUE_STATE": "corpus.catalogue",
    "Catalogue": "corpus.catalogue",
    "ChunkRecord": "corpus.catalogue",
    "DocumentInfo": "corpus.catalogue",
    "NewChunk": "corpus.catalogue",
    "ChunkSpan": "corpus.chunking",
    "chunk_text": "corpus.chunking",
    "normalise_for_hash": "corpus.chunking",
    "sentence_spans": "corpus.chunking",
    "SUPPORTED_SUFFIXES": "corpus.loaders",
    "LoadedDocument": "corpus.loaders",
    "load_bytes": "corpus.loaders",
    "load_file": "corpus.loaders",
    "ManifestEntry": "corpus.manifest",
    "read_manifest": "corpus.manifest",
    "tag_text": "corpus.tags",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CATALOGUE_STATE",
    "SUPPORTED_SUFFIXES",
    "Catalogue",
    "ChunkRecord",
    "ChunkSpan",
    "CorpusError",
    "CorpusFetchError",
    "DocumentError",
    "DocumentInfo",
    "DocumentNotFound",
    "LoadedDocument",
    "ManifestEntry",
    "NewChunk",
    "UnsupportedDocument",
    "check_web_url",
    "chunk_text",
    "is_web_url",
    "load_bytes",
    "load_file",
    "normalise_for_hash",
    "read_manifest",
    "sentence_spans",
    "tag_text",
    "web_url_or_none",
]
