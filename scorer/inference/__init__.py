"""Scoring a recording: decode, window, featurise (or encode with MuQ), predict, aggregate, find spots.

``Scorer.load(config)`` picks the backend. The embedded backend and the transcriber load scipy and the
transcription model's runtime, so they are imported on first use, not with this package. The functions
``align`` and ``decode`` are not re-exported: they share their modules' names (``scorer.inference.align``,
``scorer.inference.decode``), and a package attribute of that name would hide the module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from scorer.inference.align import (
    AlignmentTooLong,
    NotatedScore,
    ScoreAlignment,
    bar_starts,
    load_score,
)
from scorer.inference.decode import Decoded, probe
from scorer.inference.features import FEATURE_SR, Notes, notes_from_midi
from scorer.inference.muq_backend import MuqBackend
from scorer.inference.note_assessment import NoteAssessment, assess
from scorer.inference.score_input import load_score_file
from scorer.inference.service import REFERENCE_FILE, Backend, Scorer, load_reference, probe_recording
from scorer.inference.spots import Reference, find_spots, parse_bar_times
from scorer.inference.windows import aggregate, centre_weights, window_spans

if TYPE_CHECKING:
    from scorer.inference.embedded import EmbeddedBackend
    from scorer.inference.transcribe import Transcriber

# heavy at import (scipy.signal): resolved on first access
_LAZY = {"EmbeddedBackend": "scorer.inference.embedded", "Transcriber": "scorer.inference.transcribe"}

__all__ = [
    "FEATURE_SR",
    "REFERENCE_FILE",
    "AlignmentTooLong",
    "Backend",
    "Decoded",
    "EmbeddedBackend",
    "MuqBackend",
    "NotatedScore",
    "NoteAssessment",
    "Notes",
    "Reference",
    "ScoreAlignment",
    "Scorer",
    "Transcriber",
    "aggregate",
    "assess",
    "bar_starts",
    "centre_weights",
    "find_spots",
    "load_reference",
    "load_score",
    "load_score_file",
    "notes_from_midi",
    "parse_bar_times",
    "probe",
    "probe_recording",
    "window_spans",
]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
