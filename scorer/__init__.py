"""Cadenza's scorer: a recording in, a ScoreReport on the 19 PercePiano dimensions out.

The contract sits at the top (``schema``, ``dimensions``, ``errors``, ``config``); ``scorer.inference``
scores recordings, ``scorer.training`` trains and evaluates the embedded heads. Importing this package
loads no model and no audio library (numpy and pydantic only).
"""

from scorer.config import ScorerConfig
from scorer.dimensions import BY_NAME, DIMENSIONS, NAMES, QUALITY, Dimension
from scorer.errors import RecordingError, RecordingTooLarge, ScorerConfigError, ScorerError
from scorer.inference.align import NotatedScore, load_score
from scorer.inference.service import Scorer, probe_recording
from scorer.schema import (
    BarReport,
    Curves,
    DimensionScore,
    NoteError,
    ScoreFollowing,
    ScorePass,
    ScoreReport,
    Spot,
    WindowScores,
)

__all__ = [
    "BY_NAME",
    "DIMENSIONS",
    "NAMES",
    "QUALITY",
    "BarReport",
    "Curves",
    "Dimension",
    "DimensionScore",
    "NotatedScore",
    "NoteError",
    "RecordingError",
    "RecordingTooLarge",
    "ScoreFollowing",
    "ScorePass",
    "ScoreReport",
    "Scorer",
    "ScorerConfig",
    "ScorerConfigError",
    "ScorerError",
    "Spot",
    "WindowScores",
    "load_score",
    "probe_recording",
]
