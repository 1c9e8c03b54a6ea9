"""The corpus package's errors: one root, no HTTP knowledge (the API maps them to status codes in one table).

CorpusError
├── DocumentError        a document or manifest that cannot be read (bad bytes, empty, bad row …)
│   └── UnsupportedDocument  a file type the loaders do not read
├── DocumentNotFound     no document with that id in the catalogue
└── CorpusFetchError     downloading a manifest source failed
"""

from __future__ import annotations

from typing import Any

__all__ = ["CorpusError", "CorpusFetchError", "DocumentError", "DocumentNotFound", "UnsupportedDocument"]


class CorpusError(Exception):
    """Root of every error the corpus package raises on purpose."""

    def __init__(self, message: str, *, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class DocumentError(CorpusError):
    """A document (or manifest) that cannot be used."""


class UnsupportedDocument(DocumentError):
    """A file type the loaders do not read."""


class DocumentNotFound(CorpusError):
    """No document with that id."""


class CorpusFetchError(CorpusError):
    """A download of a manifest source failed."""
