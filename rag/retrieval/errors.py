"""Retrieval's errors: one root, no HTTP knowledge (the API maps them to status codes in one table).

RetrievalError
├── QueryError              a query, filter, mode or request that cannot be answered (empty, unknown …)
├── IndexMismatch           an index built with another embedding model / dimension
├── RetrievalConfigError    settings or installed models that cannot work
└── VectorStoreError        the vector store (Qdrant server …) failed
"""

from __future__ import annotations

from typing import Any

__all__ = ["IndexMismatch", "QueryError", "RetrievalConfigError", "RetrievalError", "VectorStoreError"]


class RetrievalError(Exception):
    """Root of every error retrieval raises on purpose."""

    def __init__(self, message: str, *, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class QueryError(RetrievalError):
    """A request retrieval cannot answer as asked."""


class IndexMismatch(RetrievalError):
    """The index on disk was built with another embedding model or dimension."""


class RetrievalConfigError(RetrievalError):
    """Retrieval is configured or installed in a way that cannot work."""


class VectorStoreError(RetrievalError):
    """The vector store failed."""
