"""The embedded (CPU, offline) backend: descriptors per window -> committed numpy heads."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from scorer.decode import Decoded
from scorer.extract import TRANSCRIBED_PREFIX, recording_rows
from scorer.features import Notes
from scorer.model import EmbeddedModel, Head
from scorer.transcribe import Transcriber


class EmbeddedBackend:
    name = "embedded"

    def __init__(self, weights: Path | None = None, *, threads: int = 2) -> None:
        self.model = EmbeddedModel.load(weights)
        self._threads = threads
        self._transcriber: Transcriber | None = None

    def transcriber(self) -> Transcriber:
        """The transcription model, loaded on first use."""
        if self._transcriber is None:
            self._transcriber = Transcriber(self._threads)
        return self._transcriber

    def transcriber_for(self, head: Head) -> Transcriber | None:
        """The transcriber when the head reads its features, else None."""
        if not any(n.startswith(TRANSCRIBED_PREFIX) for n in head.feature_names):
            return None
        return self.transcriber()

    def predict_windows(
        self, decoded: Decoded, spans: Sequence[tuple[float, float]], *, transcription: Notes | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(scores, uncertainty, held-out rmse): MIDI input uses the head that sees the true notes.
        ``transcription``: the recording's basic-pitch notes when the caller already has them."""
        head_name = "midi" if decoded.notes is not None and "midi" in self.model.heads else "audio"
        head = self.model.heads[head_name]
        rows = recording_rows(decoded.audio, decoded.notes, spans, self.transcriber_for(head),
                              transcription=transcription)
        scores, unc = head.predict(rows)
        return scores, unc, head.rmse
