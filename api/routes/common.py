"""Helpers shared by the resource routes: ownership checks, ids, multipart OpenAPI bodies."""

from __future__ import annotations

import re
import uuid
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from api.auth import Principal
from api.errors import NotFound

T = TypeVar("T")
# Every id the service hands out has this shape; anything else (a NUL, a long string) names nothing and
# never reaches the database, where Postgres would refuse it with an error instead of "not found".
_ID_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def new_id() -> str:
    return uuid.uuid4().hex


def get_owned(session: Session, model: type[T], object_id: str, principal: Principal, what: str) -> T:
    """The object if the caller may see it. Another student's object is NotFound, not Forbidden:
    a student cannot even learn that the id exists."""
    row = session.get(model, object_id) if _ID_SHAPE.fullmatch(object_id) else None
    if row is None or (not principal.is_admin and getattr(row, "owner", None) != principal.key_id):
        raise NotFound(f"no {what} with id {object_id!r}")
    return row


def multipart_body(file_field: str, fields: dict[str, dict[str, Any]], description: str) -> dict[str, Any]:
    """OpenAPI requestBody for a route that parses its multipart stream itself."""
    properties = {file_field: {"type": "string", "format": "binary", "description": description}, **fields}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {"type": "object", "required": [file_field], "properties": properties}
                }
            },
        }
    }


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    from api.schemas import ErrorResponse

    return {status: {"model": ErrorResponse} for status in statuses}
