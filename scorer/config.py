"""What the scorer needs to know, as one frozen value passed down by argument.

The scorer never reads the environment: ``api.settings.Settings.scorer_config()`` builds this from the
``CADENZA_*`` settings. No defaults here, so the values cannot drift from the settings' own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


@dataclass(frozen=True, kw_only=True)
class NoteConfig:
    """Thresholds of the note-level assessment against a score (issue 17). The defaults are the settings'
    defaults (``api.settings`` reads these constants); ``eval/bench_notes.py`` tunes them. Tempo and chord
    thresholds: chosen on the benchmark's TUNE half (best F1 flagging <= 5% of untouched bars), reported on CHECK
    in eval/results/notes_benchmark.md."""

    rushed_ratio: float = 1.14  # bar tempo / the performer's smoothed tempo at or above: rushed
    dragged_ratio: float = 0.88  # ... at or below: dragged (not in a pass's last bar: ritardando)
    tempo_smooth_bars: int = 5  # bars in the running median that is "the performer's own tempo"
    uneven_chord_ms: float = 50.0  # median onset spread of a bar's notated chords above which: uneven
    dynamics_margin: float = 4.0  # MIDI velocity: a softer-marked bar this close to a louder one is flagged
    extra_min_velocity: int = 12  # quieter played notes are never called extra (ghost notes, transcription)
    extra_min_duration_s: float = 0.03  # ... nor shorter ones
    one_hand_share: float = 0.1  # a hand with at most this share of its notes played in a pass: not played
    min_followed_share: float = 0.3  # fewer played notes matched: the score is not followed, no note errors
    jump_penalty: float = 4.0  # pass segmentation: cost of a jump in the score (restart, repeat, skip)
    transcribed_wrong_interval: int = 2  # audio input: widest substitution (semitones) called a wrong note


@dataclass(frozen=True, kw_only=True)
class ScorerConfig:
    backend: Literal["embedded", "muq"]
    weights: Path | None  # head weights; None = the committed embedded model
    muq_model_path: Path | None  # a local MuQ folder (muq backend only)
    muq_device: str  # torch device of the MuQ backend
    max_duration_s: float  # longest recording accepted
    soundfont: Path  # renders MIDI input (and the training data)
    second_soundfont: Path  # training only: the audio head also learns from these renders
    top_n: int  # weak spots / strengths reported per recording
    threads: int  # threads of the embedded backend's transcription model
    # audio -> notes for the note errors: transkun (accurate) or basic-pitch (fast); auto: transkun for a take
    # of at most ``accurate_max_s`` seconds, basic-pitch for a longer one (the analysis time goal)
    transcriber: Literal["auto", "basic-pitch", "transkun"]
    accurate_max_s: float = 120.0
    cache_dir: Path  # training and robustness: render / feature cache
    percepiano_dir: Path  # training and robustness: the PercePiano data
    notes: NoteConfig = field(default_factory=NoteConfig)  # note-level assessment thresholds
