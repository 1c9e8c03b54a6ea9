"""PercePiano as training data: labels, keys, passages, and the per-window feature table (cached)."""

from __future__ import annotations

import hashlib
import json
import pickle
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scorer.dimensions import DIMENSIONS

LABEL_FILE = "labels/label_2round_mean_reg_19_with0_rm_highstd0.json"
_KEY = re.compile(r"^(?P<piece>.+)_(?P<bars>\d+)bars_(?P<performer>[^_]+)_(?P<segment>\d+)$")


@dataclass(frozen=True)
class Key:
    key: str
    piece: str
    bars: int
    performer: str
    segment: int

    @property
    def passage(self) -> str:
        """Same music, different performers: piece + bar count + segment."""
        return f"{self.piece}_{self.bars}bars_{self.segment}"


def parse_key(key: str) -> Key:
    m = _KEY.match(key)
    if not m:
        raise ValueError(f"not a PercePiano key: {key}")
    return Key(key, m["piece"], int(m["bars"]), m["performer"], int(m["segment"]))


def load_labels(percepiano_dir: Path) -> dict[str, np.ndarray]:
    """key -> 19 labels (the 20th number, a performer index, is dropped)."""
    raw = json.loads((percepiano_dir / LABEL_FILE).read_text())
    return {k: np.asarray(v[: len(DIMENSIONS)], dtype=np.float64) for k, v in sorted(raw.items())}


def midi_path(percepiano_dir: Path, key: str) -> Path:
    return percepiano_dir / "performance_midi" / f"{key}.mid"


def score_midi_path(percepiano_dir: Path, key: str) -> Path:
    """The notated score of a performance's passage (``<piece>_<N>bars_Score_<segment>.mid``)."""
    head, _, segment = key.rpartition("_")
    piece_bars = head[: head.rindex("bars_") + len("bars")]
    return percepiano_dir / "score_midi" / f"{piece_bars}_Score_{segment}.mid"


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


@dataclass
class FeatureTable:
    """One row per training window: which key, where, and the feature families (waveform descriptors,
    features of the true notes, features of the basic-pitch transcription)."""

    keys: list[str]
    spans: list[tuple[float, float]]
    audio: list[dict[str, float]]
    notes: list[dict[str, float]]
    transcribed: list[dict[str, float]] = field(default_factory=list)

    def add(
        self,
        key: str,
        spans: Sequence[tuple[float, float]],
        *,
        audio: Sequence[dict[str, float]] | None = None,
        notes: Sequence[dict[str, float]] | None = None,
        transcribed: Sequence[dict[str, float]] | None = None,
    ) -> None:
        """Append one performance's windows; a family not given gets empty rows (no such features)."""

        def rows(family: Sequence[dict[str, float]] | None) -> list[dict[str, float]]:
            return list(family) if family is not None else [{} for _ in spans]

        self.keys += [key] * len(spans)
        self.spans += list(spans)
        self.audio += rows(audio)
        self.notes += rows(notes)
        self.transcribed += rows(transcribed)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(self.__dict__))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> FeatureTable:
        return cls(**pickle.loads(path.read_bytes()))
