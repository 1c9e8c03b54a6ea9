"""The API's own errors, and the one table that maps every package's errors to HTTP.

The packages below the API raise errors of their own roots, with no HTTP knowledge:

    ScorerError (scorer.errors)          RecordingError, RecordingTooLarge, NotAScore, UnsafeScore,
                                         ScorerConfigError
    CorpusError (corpus.errors)          DocumentError, UnsupportedDocument, DocumentNotFound, CorpusFetchError
    RetrievalError (rag.retrieval.errors) QueryError, IndexMismatch, RetrievalConfigError, VectorStoreError
    GenerationError (rag.generation.errors) FeedbackInputError, GenerationConfigError, GenerationCancelled,
                                         LLMError, LLMTimeout

The API adds its own, for what only a service knows (keys, roles, rate limits, ids, request shapes):

    CadenzaError
    ├── InputError          bad input from a user (file, query, JSON)
    │   ├── UnsupportedMediaType
    │   └── TooLarge        over a configured limit
    ├── NotFound            unknown id (or not the caller's)
    ├── AuthError           missing / invalid key
    ├── Forbidden           valid key, wrong role
    ├── RateLimited         too many requests
    ├── Conflict            valid request, wrong state (performance not scored yet)
    ├── ConfigError         settings that cannot work
    └── UpstreamError       a dependency failed
        └── ServiceUnavailable  database or index unreachable

``STATUS`` maps each of them to an HTTP status and an error code, in the style of httpx's
``map_exceptions``: the most specific class in the error's MRO wins. The REST handler and the CLIs read
it; nothing else knows a status code.
"""

from __future__ import annotations

from typing import Any

from corpus.errors import CorpusError, CorpusFetchError, DocumentError, DocumentNotFound, UnsupportedDocument
from rag.generation.errors import (
    FeedbackInputError,
    GenerationCancelled,
    GenerationConfigError,
    GenerationError,
    LLMError,
    LLMTimeout,
)
from rag.retrieval.errors import (
    IndexMismatch,
    QueryError,
    RetrievalConfigError,
    RetrievalError,
    VectorStoreError,
)
from scorer.errors import (
    NotAScore,
    RecordingError,
    RecordingTooLarge,
    ScorerConfigError,
    ScorerError,
    UnsafeScore,
)


class CadenzaError(Exception):
    """Base of every error the API raises on purpose."""

    def __init__(self, message: str, *, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class InputError(CadenzaError):
    pass


class UnsupportedMediaType(InputError):
    pass


class TooLarge(InputError):
    pass


class NotFound(CadenzaError):
    pass


class AuthError(CadenzaError):
    pass


class Forbidden(CadenzaError):
    pass


class RateLimited(CadenzaError):
    def __init__(self, message: str, *, retry_after_s: int, detail: Any = None) -> None:
        super().__init__(message, detail=detail)
        self.retry_after_s = retry_after_s


class ConfigError(CadenzaError):
    pass


class UpstreamError(CadenzaError):
    pass


class ServiceUnavailable(UpstreamError):
    """A store the service needs (database, index) cannot be reached right now: retry later."""


class Conflict(CadenzaError):
    """The request is valid but the object is not in a state that allows it (e.g. not scored yet)."""


# Every error a user can cause or a dependency can raise, whatever package raised it.
EXPECTED_ERRORS: tuple[type[Exception], ...] = (
    CadenzaError,
    ScorerError,
    CorpusError,
    RetrievalError,
    GenerationError,
)

STATUS: dict[type[Exception], tuple[int, str]] = {
    # the API's own
    CadenzaError: (500, "cadenza_error"),
    InputError: (400, "invalid_input"),
    UnsupportedMediaType: (415, "unsupported_media_type"),
    TooLarge: (413, "too_large"),
    NotFound: (404, "not_found"),
    AuthError: (401, "unauthorized"),
    Forbidden: (403, "forbidden"),
    RateLimited: (429, "rate_limited"),
    Conflict: (409, "conflict"),
    ConfigError: (500, "config_error"),
    UpstreamError: (502, "upstream_error"),
    ServiceUnavailable: (503, "unavailable"),
    # scorer
    ScorerError: (500, "scorer_error"),
    RecordingError: (400, "invalid_input"),
    RecordingTooLarge: (413, "too_large"),
    NotAScore: (415, "unsupported_media_type"),
    UnsafeScore: (400, "invalid_input"),
    ScorerConfigError: (500, "config_error"),
    # corpus
    CorpusError: (500, "corpus_error"),
    DocumentError: (400, "invalid_input"),
    UnsupportedDocument: (415, "unsupported_media_type"),
    DocumentNotFound: (404, "not_found"),
    CorpusFetchError: (502, "upstream_error"),
    # retrieval
    RetrievalError: (500, "retrieval_error"),
    QueryError: (400, "invalid_input"),
    IndexMismatch: (409, "index_mismatch"),
    RetrievalConfigError: (500, "config_error"),
    VectorStoreError: (502, "upstream_error"),
    # generation
    GenerationError: (500, "generation_error"),
    FeedbackInputError: (400, "invalid_input"),
    GenerationConfigError: (500, "config_error"),
    GenerationCancelled: (499, "client_closed_request"),  # its client left: nobody reads this answer
    LLMError: (502, "upstream_error"),
    LLMTimeout: (504, "upstream_timeout"),
}


def status_of(exc: BaseException) -> tuple[int, str]:
    """HTTP status and error code of an expected error: the most specific class in its MRO that the table names."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500, "internal_error"


def message_of(exc: BaseException) -> str:
    return str(getattr(exc, "message", None) or exc)
