"""Per-window feature rows of a recording (waveform descriptors, note and transcription features, each with
its context span's), the inputs of the embedded heads at inference. Training tables built from these rows
are in scorer.training.tables."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from scorer.inference.features import FEATURE_SR, Notes, frame_descriptors, note_features, span_features
from scorer.inference.transcribe import Transcriber
from scorer.inference.windows import context_spans

if TYPE_CHECKING:
    from scorer.inference.align import Alignment

TRANSCRIBED_PREFIX = "tr_"
CONTEXT_PREFIX = "ctx_"


def transcribed_features(notes: Notes, spans: Sequence[tuple[float, float]]) -> list[dict[str, float]]:
    """Note features of a transcription, per span, under their own names (``tr_...``).

    A transcription has no pedal events (the sustain shows as longer notes), so the pedal-event
    features, constant here, are left out.
    """
    rows = []
    for start, end in spans:
        feats = note_features(notes.window(start, end), end - start)
        rows.append({TRANSCRIBED_PREFIX + k: v for k, v in feats.items() if not k.startswith("pedal")})
    return rows


def window_features(
    audio: np.ndarray, notes: Notes | None, spans: Sequence[tuple[float, float]], sr: int = FEATURE_SR
) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    """Audio (and, when notes are known, note) features for each span.

    The frame descriptors are computed once for the whole recording and summarised per span, so
    overlapping windows do not repeat the STFT (training windows are cut the same way).
    """
    a_rows: list[dict[str, float]] = []
    n_rows: list[dict[str, float]] = []
    with warnings.catch_warnings():
        # librosa warns on near-silent windows (tuning of an empty frame set): not the user's concern
        warnings.simplefilter("ignore")
        frames = frame_descriptors(audio, sr)
        for start, end in spans:
            a = frames.frame_of(start)
            b = frames.n if end * sr >= len(audio) - 1 else min(frames.frame_of(end), frames.n)
            a_rows.append(span_features(frames, a, max(b, a + 1), end - start))
            n_rows.append(note_features(notes.window(start, end), end - start) if notes is not None else {})
    return a_rows, n_rows


def with_context(
    rows: Sequence[dict[str, float]], index: Sequence[int], context_index: Sequence[int]
) -> list[dict[str, float]]:
    """Each window's features plus those of its context span under ``ctx_`` names."""
    return [
        {**rows[i], **{CONTEXT_PREFIX + k: v for k, v in rows[j].items()}}
        for i, j in zip(index, context_index, strict=False)
    ]


def _with_contexts(
    spans: Sequence[tuple[float, float]], duration: float
) -> tuple[list[tuple[float, float]], list[int], list[int]]:
    """The distinct spans to featurise (windows and their contexts) and where each window and
    context sits among them."""
    contexts = context_spans(list(spans), duration)
    unique = sorted(set(spans) | set(contexts))
    pos = {s: i for i, s in enumerate(unique)}
    return unique, [pos[s] for s in spans], [pos[c] for c in contexts]


def family_rows(
    audio: np.ndarray, notes: Notes | None, spans: Sequence[tuple[float, float]]
) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    """Per window: (waveform descriptors, true-note features), each with its context span's features
    (``ctx_...``). Windows and contexts are featurised once per distinct span, from one STFT."""
    unique, idx, cidx = _with_contexts(spans, len(audio) / FEATURE_SR)
    a_rows, n_rows = window_features(audio, notes, unique)
    return with_context(a_rows, idx, cidx), with_context(n_rows, idx, cidx)


def transcribed_rows(
    transcribed: Notes, spans: Sequence[tuple[float, float]], duration: float
) -> list[dict[str, float]]:
    """The transcription's note features per window, with its context span's."""
    unique, idx, cidx = _with_contexts(spans, duration)
    return with_context(transcribed_features(transcribed, unique), idx, cidx)


def aligned_rows(
    played: Notes,
    score: Notes,
    alignment: Alignment,
    spans: Sequence[tuple[float, float]],
    duration: float,
    *,
    prefix: str = "",
) -> list[dict[str, float]]:
    """Score-relative features (``scorer.inference.align.alignment_features``) of the played notes per window, with its
    context span's; ``prefix`` names them apart (``tr_`` for a transcription, as its note features)."""
    from scorer.inference.align import alignment_features

    unique, idx, cidx = _with_contexts(spans, duration)
    rows = [
        {prefix + k: v for k, v in alignment_features(played, score, alignment, a, b).items()}
        for a, b in unique
    ]
    return with_context(rows, idx, cidx)


def recording_rows(
    audio: np.ndarray,
    notes: Notes | None,
    spans: Sequence[tuple[float, float]],
    transcriber: Transcriber | None,
    *,
    transcription: Notes | None = None,
) -> list[dict[str, float]]:
    """All features of a recording per span: waveform descriptors, the transcription's note
    features (when a transcriber is given; ``transcription`` when already made) and the true notes'
    features (MIDI input), each with its context span's (``ctx_...``)."""
    a_rows, n_rows = family_rows(audio, notes, spans)
    if transcriber is not None and transcription is None:
        transcription = transcriber.transcribe(audio, FEATURE_SR)
    t_rows = (
        transcribed_rows(transcription, spans, len(audio) / FEATURE_SR)
        if transcriber is not None and transcription is not None
        else [{} for _ in spans]
    )
    return [{**a, **t, **n} for a, t, n in zip(a_rows, t_rows, n_rows, strict=False)]
