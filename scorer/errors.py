"""The scorer's errors: one root, no HTTP knowledge (the API maps them to status codes in one table).

ScorerError
├── RecordingError        the recording or its score cannot be used (unreadable, empty, too short …)
│   ├── RecordingTooLarge over a configured limit (size or duration)
│   ├── NotAScore         a score upload that is no score format we read (MIDI, MusicXML, .mxl)
│   └── UnsafeScore       a score file built to exhaust the reader (XML entities, an .mxl that inflates far)
└── ScorerConfigError     settings or installed files that cannot work (missing weights, fluidsynth …)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "NotAScore",
    "RecordingError",
    "RecordingTooLarge",
    "ScorerConfigError",
    "ScorerError",
    "UnsafeScore",
]


class ScorerError(Exception):
    """Root of every error the scorer raises on purpose."""

    def __init__(self, message: str, *, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class RecordingError(ScorerError):
    """The input (recording, score, report) is not usable."""


class RecordingTooLarge(RecordingError):
    """The input is over a configured limit."""


class NotAScore(RecordingError):
    """A file sent as a score is none of the score formats read (MIDI, MusicXML, compressed .mxl)."""


class UnsafeScore(RecordingError):
    """A score file that would exhaust the reader: XML entity declarations, an archive that inflates too far."""


class ScorerConfigError(ScorerError):
    """The scorer is configured or installed in a way that cannot work."""
