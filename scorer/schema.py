"""The scorer's output contract (``cadenza score --json``), read by retrieval, feedback, API and web."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from scorer.pitch_names import pitch_name

# Note-level spot dimensions (issue 17): not PercePiano dimensions, so not in scorer.dimensions.
NOTE_SPOT_DIMENSIONS = (
    "wrong_notes",
    "missed_notes",
    "extra_notes",
    "rushing",
    "dragging",
    "uneven_chords",
)
BarFlag = Literal["wrong_notes", "missed_notes", "extra_notes", "rushed", "dragged", "uneven", "dynamics"]


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


# A spot whose reason starts with this was measured from the notes or the sound (scorer.inference.signal_spots),
# not judged by the perceptual model: its reason is evidence the student can check, so the feedback quotes it.
MEASURED = "measured: "


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


class ScorePass(BaseModel):
    """One continuous run through the score: a restart or a played repeat starts the next one."""

    start_s: float
    end_s: float
    first_bar: int
    last_bar: int


class ScoreFollowing(BaseModel):
    """How the recording followed the score given with it."""

    matched_share: float = Field(
        description="Share of the played (or transcribed) notes paired with a score note (right, or as the "
        "wrong note in its place), over every pass through the score, 0-1."
    )
    followed: bool = Field(
        description="Enough notes paired for the score to be used: bar numbers from it, and "
        "timing judged against it where the backend can; else neither."
    )
    bars_covered: list[int] | None = Field(
        None, description="[first, last] score bar played (numbered as in the score); None when none."
    )
    passes: list[ScorePass] = Field(default_factory=list)
    restarts: int = Field(0, description="Jumps back in the score (restarts and played repeats).")
    notes_from: Literal["midi", "basic-pitch", "transkun"] | None = Field(
        None,
        description="Where the played notes came from: the MIDI file, or the transcriber that heard the "
        "audio (transkun, accurate, for takes up to the accurate-mode length; basic-pitch, fast, beyond).",
    )


# "pass" is a Python keyword: the field is pass_ with the JSON key "pass"; every dump uses the alias.
_ALIASED = ConfigDict(serialize_by_alias=True, validate_by_name=True, validate_by_alias=True)


class NoteError(BaseModel):
    """A wrong (substituted), missed or extra note against the score."""

    model_config = _ALIASED

    type: Literal["wrong", "missed", "extra"]
    bar: int | None = Field(description="Score bar, numbered as in the score (a pickup as notated).")
    beat: float | None = Field(description="Beat in the bar, from 1, in the bar's time signature.")
    time_s: float = Field(description="Performance time; for a missed note, where it should have sounded.")
    expected_pitch: int | None = Field(description="MIDI pitch in the score; None for an extra note.")
    played_pitch: int | None = Field(description="MIDI pitch played; None for a missed note.")
    pass_: int = Field(1, alias="pass", description="Which pass through the score (1-based).")
    expected_name: str | None = Field(
        None, description="expected_pitch spelled for the bar's key signature, e.g. 'Bb4' (None: no pitch)."
    )
    played_name: str | None = Field(
        None, description="played_pitch spelled for the bar's key signature, e.g. 'F#4' (None: no pitch)."
    )

    def what(self) -> str:
        """The error in words: 'F4 instead of F#4', 'G4 missed', 'extra G4' (a report stored before names
        were written is spelled as in C major)."""
        expected = self.expected_name or (
            pitch_name(self.expected_pitch) if self.expected_pitch is not None else None
        )
        played = self.played_name or (
            pitch_name(self.played_pitch) if self.played_pitch is not None else None
        )
        if self.type == "wrong" and played and expected:
            return f"{played} instead of {expected}"
        if self.type == "missed" and expected:
            return f"{expected} missed"
        if played:
            return f"extra {played}"
        return f"{self.type} note"


class BarReport(BaseModel):
    """One score bar in one pass."""

    model_config = _ALIASED

    bar: int
    pass_: int = Field(1, alias="pass")
    start_s: float
    end_s: float
    expected: int
    matched: int
    missed: int
    extra: int
    wrong: int
    onset_dev_ms: float | None = Field(
        None, description="Median |onset - local score-to-performance fit| of the bar's notes."
    )
    tempo_bpm: float | None = Field(None, description="The time signature's beats per minute.")
    tempo_ratio: float | None = Field(
        None, description="Bar tempo / the performer's own smoothed tempo there (>1 = faster)."
    )
    velocity_mean: float | None = None
    flags: list[BarFlag] = Field(default_factory=list)


class TempoPoint(BaseModel):
    time_s: float
    bpm: float


class LoudnessPoint(BaseModel):
    time_s: float
    db: float


class Curves(BaseModel):
    """Tempo (score beats with a score, else onsets) and loudness over the performance."""

    tempo: list[TempoPoint] = Field(default_factory=list)
    loudness: list[LoudnessPoint] = Field(default_factory=list)


class ScoreReport(BaseModel):
    duration_s: float
    backend: str
    dimensions: list[DimensionScore]
    windows: list[WindowScores]
    weak_spots: list[Spot]
    strengths: list[Spot]
    source: str | None = Field(None, description="Input file name (never a server-side path).")
    score_following: ScoreFollowing | None = Field(None, description="Present when a score was given.")
    note_errors: list[NoteError] | None = Field(None, description="Against the score; None without one.")
    bars: list[BarReport] | None = Field(
        None, description="One per (score bar, pass) played; None without a score."
    )
    curves: Curves | None = Field(None, description="Tempo and loudness curves (with or without a score).")
    compared_with: str | None = Field(
        None,
        description=(
            "The id of the student's earlier take of the same piece (same owner; same score file, else same "
            "piece name) whose overall scores the weak spots were compared with: a scale clearly worse since "
            "then is weak sooner and its reason says 'than your earlier take'. None: no earlier take compared."
        ),
    )
