"""The embedded (CPU, offline) backend: descriptors per window -> committed numpy heads."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from scorer.dimensions import BY_NAME
from scorer.inference.align import ScoreAlignment
from scorer.inference.decode import Decoded
from scorer.inference.extract import TRANSCRIBED_PREFIX, aligned_rows, recording_rows
from scorer.inference.features import Notes
from scorer.inference.model import SCORE_TIMING_HEADS, TIMING_DIMENSION, EmbeddedModel, Head
from scorer.inference.transcribe import Transcriber


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
        self,
        decoded: Decoded,
        spans: Sequence[tuple[float, float]],
        *,
        transcription: Notes | None = None,
        aligned: ScoreAlignment | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(scores, uncertainty, held-out rmse): MIDI input uses the head that sees the true notes.
        ``transcription``: the recording's basic-pitch notes when the caller already has them.
        ``aligned``: the score and its alignment to the played notes: when those are the notes this head reads
        (the true notes of a MIDI input, else ``transcription``) and enough of them follow the score, timing
        stability comes from the score-aware timing head."""
        head_name = "midi" if decoded.notes is not None and "midi" in self.model.heads else "audio"
        head = self.model.heads[head_name]
        rows = recording_rows(
            decoded.audio, decoded.notes, spans, self.transcriber_for(head), transcription=transcription
        )
        scores, unc = head.predict(rows)
        rmse = head.rmse
        timing_name = next((name for name, base in SCORE_TIMING_HEADS.items() if base == head_name), None)
        timing_head = self.model.heads.get(timing_name) if timing_name else None
        read = decoded.notes if head_name == "midi" else transcription
        if aligned is not None and timing_head is not None and aligned.played is read and aligned.usable:
            prefix = "" if head_name == "midi" else TRANSCRIBED_PREFIX
            extra = aligned_rows(
                aligned.played, aligned.score, aligned.alignment, spans, decoded.duration_s, prefix=prefix
            )
            t_scores, t_unc = timing_head.predict([{**r, **e} for r, e in zip(rows, extra, strict=False)])
            t = BY_NAME[TIMING_DIMENSION].index
            scores[:, t], unc[:, t] = t_scores[:, 0], t_unc[:, 0]
            rmse = rmse.copy()
            rmse[t] = timing_head.rmse[0]
        return scores, unc, rmse
