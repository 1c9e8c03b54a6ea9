"""What the scorer needs to know, as one frozen value passed down by argument.

The scorer never reads the environment: ``api.settings.Settings.scorer_config()`` builds this from the
``CADENZA_*`` settings. No defaults here, so the values cannot drift from the settings' own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal


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
    transcriber: Literal["basic-pitch", "transkun"]  # audio -> notes (transkun: accurate mode)
    cache_dir: Path  # training and robustness: render / feature cache
    percepiano_dir: Path  # training and robustness: the PercePiano data
