"""Cadenza's one exception hierarchy.

    CadenzaError
    ├── InputError          bad input from a user (file, query, JSON): HTTP 400/415/422, CLI exit 2
    │   └── TooLarge        over a configured limit: HTTP 413
    ├── NotFound            unknown id (or not the caller's): HTTP 404
    ├── AuthError           missing / invalid key: HTTP 401
    ├── Forbidden           valid key, wrong role: HTTP 403
    ├── RateLimited         too many requests: HTTP 429
    ├── IndexMismatch       an index built with another model / dimension: HTTP 409
    ├── Conflict            valid request, wrong state (performance not scored yet): HTTP 409
    ├── ConfigError         settings that cannot work (missing model path…): HTTP 500, CLI exit 2
    └── UpstreamError       a dependency failed (LLM, database, Qdrant): HTTP 502/503
        ├── UpstreamTimeout     HTTP 504
        └── ServiceUnavailable  database or index unreachable: HTTP 503

Third-party errors are wrapped with ``raise ... from err`` at the boundary that knows what failed.
HTTP status codes are mapped in one place (the API's exception handler), never inline in routes.
"""

from __future__ import annotations

from typing import Any


class CadenzaError(Exception):
    """Base of every error Cadenza raises on purpose."""

    code = "cadenza_error"
    http_status = 500

    def __init__(self, message: str, *, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class InputError(CadenzaError):
    code = "invalid_input"
    http_status = 400


class UnsupportedMediaType(InputError):
    code = "unsupported_media_type"
    http_status = 415


class TooLarge(InputError):
    code = "too_large"
    http_status = 413


class NotFound(CadenzaError):
    code = "not_found"
    http_status = 404


class AuthError(CadenzaError):
    code = "unauthorized"
    http_status = 401


class Forbidden(CadenzaError):
    code = "forbidden"
    http_status = 403


class RateLimited(CadenzaError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, *, retry_after_s: int, detail: Any = None) -> None:
        super().__init__(message, detail=detail)
        self.retry_after_s = retry_after_s


class IndexMismatch(CadenzaError):
    code = "index_mismatch"
    http_status = 409


class ConfigError(CadenzaError):
    code = "config_error"
    http_status = 500


class UpstreamError(CadenzaError):
    code = "upstream_error"
    http_status = 502


class UpstreamTimeout(UpstreamError):
    code = "upstream_timeout"
    http_status = 504


class ServiceUnavailable(UpstreamError):
    """A store the service needs (database, index) cannot be reached right now: retry later."""

    code = "unavailable"
    http_status = 503


class Conflict(CadenzaError):
    """The request is valid but the object is not in a state that allows it (e.g. not scored yet)."""

    code = "conflict"
    http_status = 409
