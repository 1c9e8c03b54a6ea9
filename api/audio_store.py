"""Uploaded recordings on disk under ``home/uploads/audio`` (their scores under ``home/uploads/scores``),
named by content hash (never the client's name).

The kind of file is decided by its first bytes, not by the client's file name or Content-Type.
"""

from __future__ import annotations

import os
from pathlib import Path

from api.errors import InputError, UnsupportedMediaType
from api.uploads import ReceivedFile, fsync_file

AUDIO_DIR = Path("uploads") / "audio"
SCORE_DIR = Path("uploads") / "scores"
STAGING_DIR = Path("uploads") / "staging"


def sniff_extension(head: bytes) -> str | None:
    """The file extension for a recording's first bytes, or None when it is no format we score."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return ".wav"
    if head[:4] == b"fLaC":
        return ".flac"
    if head[:4] == b"OggS":
        return ".ogg"
    if head[:4] == b"MThd":
        return ".mid"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return ".aiff"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return ".mp3"
    if head[4:8] == b"ftyp":
        return ".m4a"
    return None


def classify(upload: ReceivedFile) -> str:
    """Check that the upload looks like audio or MIDI; returns its extension."""
    if upload.size == 0:
        raise InputError("the uploaded file is empty")
    with open(upload.path, "rb") as fh:
        head = fh.read(16)
    extension = sniff_extension(head)
    if extension is None:
        raise UnsupportedMediaType(
            "not an audio or MIDI file (WAV, FLAC, Ogg, MP3, M4A, AIFF or MIDI)",
            detail={"filename": upload.filename, "content_type": upload.content_type},
        )
    return extension


def staged_with_extension(upload: ReceivedFile, extension: str) -> Path:
    """Give the staged file its real extension (decoders pick a reader by it)."""
    target = upload.path.with_suffix(extension)
    os.replace(upload.path, target)
    upload.path = target
    return target


def commit_audio(home: Path, upload: ReceivedFile, extension: str, folder: Path = AUDIO_DIR) -> Path:
    """Move a validated upload to its content-hash name under ``folder``; returns the path relative to
    ``home``. The same file uploaded twice is stored once (the rename replaces identical bytes)."""
    relative = folder / upload.sha256[:2] / f"{upload.sha256}{extension}"
    target = home / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    fsync_file(upload.path)
    os.replace(upload.path, target)  # atomic on one file system: never a half-written audio file
    upload.path, upload.staged = target, False
    return relative
