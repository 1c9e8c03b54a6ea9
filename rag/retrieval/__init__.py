"""Retrieval over the pedagogy corpus: a catalogue of documents (the source of truth), derived BM25 and
vector indexes, fusion, rescoring and an optional cross-encoder, behind the ``Retriever`` facade.

Configuration comes in as a ``RetrievalConfig`` (built by ``api.settings.Settings.retrieval_config()``).
The names below the facade load lazily: importing this package loads no index, model or database driver."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from rag.retrieval.config import DEFAULT_MODELS_DIR, MINILM_PACKAGE, MPNET_NAME, RetrievalConfig
from rag.retrieval.errors import (
    IndexMismatch,
    QueryError,
    RetrievalConfigError,
    RetrievalError,
    VectorStoreError,
)
from rag.retrieval.types import IndexReport, SearchHit, SourceRef

if TYPE_CHECKING:
    from rag.retrieval.embedder import SentenceTransformerEmbedder, load_embedder, load_rescore_embedder
    from rag.retrieval.embedding_cache import EmbeddingCache, embed_with_cache, text_sha
    from rag.retrieval.rebuild import rebuild_all
    from rag.retrieval.retriever import Retriever
    from rag.retrieval.search import MODES, Mode

_LAZY = {
    "EmbeddingCache": "rag.retrieval.embedding_cache",
    "MODES": "rag.retrieval.search",
    "Mode": "rag.retrieval.search",
    "Retriever": "rag.retrieval.retriever",
    "SentenceTransformerEmbedder": "rag.retrieval.embedder",
    "embed_with_cache": "rag.retrieval.embedding_cache",
    "load_embedder": "rag.retrieval.embedder",
    "load_rescore_embedder": "rag.retrieval.embedder",
    "rebuild_all": "rag.retrieval.rebuild",
    "text_sha": "rag.retrieval.embedding_cache",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_MODELS_DIR",
    "MINILM_PACKAGE",
    "MODES",
    "MPNET_NAME",
    "EmbeddingCache",
    "IndexMismatch",
    "IndexReport",
    "Mode",
    "QueryError",
    "RetrievalConfig",
    "RetrievalConfigError",
    "RetrievalError",
    "Retriever",
    "SearchHit",
    "SentenceTransformerEmbedder",
    "SourceRef",
    "VectorStoreError",
    "embed_with_cache",
    "load_embedder",
    "load_rescore_embedder",
    "rebuild_all",
    "text_sha",
]
