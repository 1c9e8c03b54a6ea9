"""The one exception handler: every error leaves the API as ``{"error": {"code", "message", "detail"}}``.

HTTP status codes come from ``api.errors.STATUS`` (one table for every package); nothing maps them inline in routes.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import EXPECTED_ERRORS, AuthError, RateLimited, message_of, status_of

log = logging.getLogger("cadenza.api")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def error_response(
    status: int, code: str, message: str, detail: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "detail": detail}}, status_code=status, headers=headers
    )


def _validation_detail(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Only location, message and type: the rejected input may be huge or binary.
    return [
        {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", "")), "type": str(err.get("type", ""))}
        for err in exc.errors()
    ]


async def handle_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, EXPECTED_ERRORS):
        status, code = status_of(exc)
        message = message_of(exc)
        headers: dict[str, str] = {}
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after_s)
        if isinstance(exc, AuthError):
            headers["WWW-Authenticate"] = "Bearer"
        if status >= 500:
            log.error("%s %s: %s (%s)", request.method, request.url.path, message, code)
        return error_response(status, code, message, getattr(exc, "detail", None), headers or None)
    if isinstance(exc, RequestValidationError):
        detail = _validation_detail(exc)
        if any(err["type"] == "json_invalid" for err in detail):
            return error_response(400, "invalid_json", "the request body is not valid JSON", detail)
        return error_response(422, "validation_error", "the request does not match the schema", detail)
    if isinstance(exc, StarletteHTTPException):
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(
            exc.status_code, code, str(exc.detail), None, dict(exc.headers) if exc.headers else None
        )
    if isinstance(exc, OperationalError):
        log.warning("database error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return error_response(
            503, "unavailable", "database unavailable, retry shortly", None, {"Retry-After": "1"}
        )
    # Anything else is a bug: log the traceback, tell the client only that it happened.
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "internal server error")


def install_error_handler(app: FastAPI) -> None:
    for exc_type in (*EXPECTED_ERRORS, RequestValidationError, StarletteHTTPException, DBAPIError, Exception):
        app.add_exception_handler(exc_type, handle_error)
