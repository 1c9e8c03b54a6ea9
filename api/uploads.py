"""Streaming multipart parsing: the file part goes straight to disk, hashed and size-checked as it arrives.

Starlette's ``request.form()`` would spool the whole upload before a route could refuse it; here the
size limit stops the transfer at the first byte over it, and an aborted request leaves no file behind.
"""

from __future__ import annotations

import hashlib
import os
import time
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from api.errors import InputError, TooLarge, UnsupportedMediaType

MAX_FIELD_BYTES = 64 * 1024
MAX_FIELDS = 32
# Multipart framing (boundaries, part headers, small fields) on top of the file itself.
FRAMING_ALLOWANCE = MAX_FIELDS * (MAX_FIELD_BYTES // 16) + 64 * 1024


def clean_filename(name: str) -> str | None:
    """A client's filename without NUL and other control characters (kept for display, never as a path)."""
    cleaned = "".join(ch for ch in name if unicodedata.category(ch) != "Cc").strip()
    return cleaned or None


@dataclass
class ReceivedFile:
    path: Path  # a temporary file under the upload staging folder; the caller moves or deletes it
    filename: str | None
    content_type: str | None
    size: int
    sha256: str
    staged: bool = True  # False once moved to its stored name: then other performances may share the file

    def discard(self) -> None:
        if self.staged:
            self.path.unlink(missing_ok=True)


@dataclass
class ReceivedForm:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, ReceivedFile] = field(default_factory=dict)  # file field name -> its one file
    main_field: str = "file"

    @property
    def file(self) -> ReceivedFile | None:
        """The main file part."""
        return self.files.get(self.main_field)

    def discard(self) -> None:
        for received in self.files.values():
            received.discard()


class _Collector:
    """python-multipart callbacks: text fields into memory (bounded), each file part onto disk (each file
    field at most once, each under its own byte limit)."""

    def __init__(self, *, file_fields: Mapping[str, int], staging: Path) -> None:
        self.file_fields = dict(file_fields)
        self.staging = staging
        self.form = ReceivedForm(main_field=next(iter(self.file_fields)))
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._buffer = bytearray()
        self._fh: IO[bytes] | None = None
        self._hash = hashlib.sha256()
        self._size = 0
        self._is_file = False

    # -- callbacks ------------------------------------------------------------------------
    def on_part_begin(self) -> None:
        self._headers = {}
        self._name = None
        self._buffer = bytearray()
        self._is_file = False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if b"name" not in options:
            raise InputError("multipart part without a name in its Content-Disposition")
        self._name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            if self._name not in self.file_fields:
                expected = " or ".join(repr(name) for name in self.file_fields)
                raise InputError(f"unexpected file field {self._name!r}; send files as {expected}")
            if self._name in self.form.files:
                raise InputError(f"send at most one {self._name!r} file")
            self._is_file = True
            self._hash = hashlib.sha256()
            self._size = 0
            path = self.staging / f"{uuid.uuid4().hex}.partial"
            self._fh = open(path, "wb")
            content_type = self._headers.get(b"content-type")
            self.form.files[self._name] = ReceivedFile(
                path=path,
                filename=clean_filename(options[b"filename"].decode("utf-8", "replace")),
                content_type=content_type.decode("latin-1") if content_type else None,
                size=0,
                sha256="",
            )
        elif len(self.form.fields) >= MAX_FIELDS:
            raise InputError("too many form fields")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._is_file:
            assert self._fh is not None and self._name is not None
            self._size += len(chunk)
            limit = self.file_fields[self._name]
            if self._size > limit:
                what = "upload" if self._name == self.form.main_field else f"{self._name!r} file"
                raise TooLarge(
                    f"{what} larger than the limit of {limit} bytes", detail={"limit_bytes": limit}
                )
            self._hash.update(chunk)
            self._fh.write(chunk)
        else:
            self._buffer.extend(chunk)
            if len(self._buffer) > MAX_FIELD_BYTES:
                raise InputError(f"form field {self._name!r} longer than {MAX_FIELD_BYTES} bytes")

    def on_part_end(self) -> None:
        if self._is_file:
            assert self._fh is not None and self._name is not None
            self._fh.close()
            self._fh = None
            received = self.form.files[self._name]
            received.size = self._size
            received.sha256 = self._hash.hexdigest()
        elif self._name is not None:
            try:
                self.form.fields[self._name] = self._buffer.decode("utf-8")
            except UnicodeDecodeError as err:
                raise InputError(f"form field {self._name!r} is not UTF-8 text") from err

    def abort(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self.form.discard()


async def receive_multipart(
    request: Request,
    *,
    file_field: str,
    staging: Path,
    max_bytes: int,
    extra_files: Mapping[str, int] | None = None,
) -> ReceivedForm:
    """Parse a multipart/form-data request; the files (if any) end up complete under ``staging``.

    ``file_field`` is the main file (at most ``max_bytes``); ``extra_files`` names other optional file
    fields with their own limits (a score beside a recording). Raises UnsupportedMediaType (not multipart),
    TooLarge (over a limit) or InputError (malformed); in every failure case, and when the client
    disconnects, the partial files are removed.
    """
    file_fields = {file_field: max_bytes, **(extra_files or {})}
    content_type = request.headers.get("content-type", "")
    media_type, params = parse_options_header(content_type)
    if media_type != b"multipart/form-data":
        raise UnsupportedMediaType("send multipart/form-data", detail={"content_type": content_type or None})
    boundary = params.get(b"boundary")
    if not boundary:
        raise InputError("multipart/form-data without a boundary")
    declared = request.headers.get("content-length")
    total = sum(file_fields.values())
    if declared and declared.isdigit() and int(declared) > total + FRAMING_ALLOWANCE:
        # Refuse before reading a byte when the client says up front that it is too large.
        raise TooLarge(
            f"upload larger than the limit of {total} bytes (all files together)",
            detail={"limit_bytes": total},
        )

    staging.mkdir(parents=True, exist_ok=True)
    collector = _Collector(file_fields=file_fields, staging=staging)
    callbacks = {
        name: getattr(collector, name)
        for name in (
            "on_part_begin",
            "on_part_data",
            "on_part_end",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
        )
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        if collector._fh is not None:  # the body ended inside the file part
            raise InputError("truncated multipart body")
    except FormParserError as err:
        collector.abort()
        raise InputError("malformed multipart body", detail=str(err)[:200]) from err
    except BaseException:  # also ClientDisconnect and cancellation: never leave a partial file
        collector.abort()
        raise
    return collector.form


def clear_staging(staging: Path, *, older_than_s: float = 0.0) -> int:
    """Remove files left by uploads that a crash interrupted; returns how many were removed.

    ``older_than_s`` spares the uploads in flight in sibling worker processes."""
    removed = 0
    cutoff = time.time() - older_than_s
    if staging.is_dir():
        for entry in staging.iterdir():
            if entry.is_file() and entry.stat().st_mtime <= cutoff:
                entry.unlink(missing_ok=True)
                removed += 1
    return removed


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
