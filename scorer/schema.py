"""The scorer's output contract (``cadenza score --json``), read by retrieval, feedback, API and web."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class DimensionScore(BaseModel):
    name: str
    label: str
    group: str
    kind: Literal["quality", "character"]
    score: float = Field(description="PercePiano scale (0-1), growing toward the label's second pole.")
    uncertainty: float = Field(description="Fold-ensemble spread, calibrated against held-out error.")
    goodness: float | None = Field(
        None, description="Higher-is-better view for quality scales; None for character scales."
    )
    percentile: float | None = Field(
        None, description="Where the score sits in the PercePiano reference distribution (0-100)."
    )


class WindowScores(BaseModel):
    start_s: float
    end_s: float
    scores: dict[str, float]


class Spot(BaseModel):
    """A weak spot or a strength: one dimension over one time range."""

    dimension: str
    start_s: float
    end_s: float
    score: float
    severity: float = Field(
        description="0-1; higher = more pressing (weak spots) or more salient (strengths)."
    )
    reason: str
    bars: list[int] | None = None


class ScoreFollowing(BaseModel):
    """How the recording followed the score MIDI given with it."""

    matched_share: float = Field(
        description="Share of the played (or transcribed) notes paired with a score note, 0-1."
    )
    followed: bool = Field(
        description="Enough notes paired for the score to be used: bar numbers from it, and "
        "timing judged against it where the backend can; else neither."
    )


class ScoreReport(BaseModel):
    duration_s: float
    backend: str
    dimensions: list[DimensionScore]
    windows: list[WindowScores]
    weak_spots: list[Spot]
    strengths: list[Spot]
    source: str | None = Field(None, description="Input file name (never a server-side path).")
    score_following: ScoreFollowing | None = Field(None, description="Present when a score MIDI was given.")
