"""The embedded (CPU, offline) backend: descriptors per window -> committed numpy heads."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from scorer.decode import Decoded
from scorer.extract import window_features
from scorer.model import EmbeddedModel


class EmbeddedBackend:
    name = "embedded"

    def __init__(self, weights: Path | None = None) -> None:
        self.model = EmbeddedModel.load(weights)

    def predict_windows(
        self, decoded: Decoded, spans: Sequence[tuple[float, float]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(scores, uncertainty, held-out rmse): MIDI input uses the head that also sees the notes."""
        a_rows, n_rows = window_features(decoded.audio, decoded.notes, spans)
        head_name = "midi" if decoded.notes is not None and "midi" in self.model.heads else "audio"
        head = self.model.heads[head_name]
        rows = [{**a, **n} for a, n in zip(a_rows, n_rows)] if head_name == "midi" else a_rows
        scores, unc = head.predict(rows)
        return scores, unc, head.rmse
