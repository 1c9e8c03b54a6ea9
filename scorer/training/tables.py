"""Training tables of PercePiano performances (render -> windows -> feature rows), cached per file by content.

The rows are the inference rows (scorer.inference.extract), so training and scoring see the same features.
Progress goes to an optional callback (the CLI prints it).
"""

from __future__ import annotations

import hashlib
import io
import pickle
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np

from scorer.inference.extract import TRANSCRIBED_PREFIX, aligned_rows, family_rows, transcribed_rows
from scorer.inference.features import FEATURE_SR, Notes, notes_from_midi
from scorer.inference.render import cached_render
from scorer.inference.transcribe import Transcriber
from scorer.inference.windows import window_spans
from scorer.training.dataset import FeatureTable, midi_path

T = TypeVar("T")
Progress = Callable[[str], None]
FEATURE_VERSION = "v3"  # v3: + 30 s context spans (ctx_), overlapping training windows, contour note features
TRANSCRIBE_VERSION = "bp-0.4.0-v1"  # basic-pitch release + our thresholds (scorer/inference/transcribe.py)
ALIGN_VERSION = "al-v1"  # scorer/inference/align.py's alignment and features
PROGRESS_EVERY = 50  # performances between two progress lines


def _report(progress: Progress | None, i: int, message: str) -> None:
    if progress is not None and i % PROGRESS_EVERY == 0:
        progress(message)


def _cached(cache_dir: Path | None, kind: str, content: bytes, compute: Callable[[], T]) -> T:
    """``compute()``, pickled under ``cache_dir/kind`` by the SHA-256 of ``content`` (no cache_dir: computed)."""
    key = hashlib.sha256(content).hexdigest()[:24]
    path = cache_dir / kind / key[:2] / f"{key}.pkl" if cache_dir else None
    if path is not None and path.is_file():
        return pickle.loads(path.read_bytes())
    result = compute()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(result))
    return result


def cached_transcription(audio: np.ndarray, cache_dir: Path | None, transcriber: Transcriber) -> Notes:
    """basic-pitch notes of a rendered clip, cached by the audio's content (transcribing is the slow part)."""
    return _cached(
        cache_dir,
        "transcribe",
        audio.tobytes() + TRANSCRIBE_VERSION.encode(),
        lambda: transcriber.transcribe(audio, FEATURE_SR),
    )


def midi_features(
    data: bytes,
    soundfont: Path,
    cache_dir: Path | None,
    *,
    transform: Callable[[bytes], bytes] | None = None,
) -> tuple[list[tuple[float, float]], list[dict[str, float]], list[dict[str, float]]]:
    """Render one MIDI file, cut it into training windows and featurise (cached by content)."""
    import pretty_midi

    if transform is not None:
        data = transform(data)

    def compute() -> tuple[list[tuple[float, float]], list[dict[str, float]], list[dict[str, float]]]:
        audio = cached_render(data, soundfont, cache_dir)
        notes = notes_from_midi(pretty_midi.PrettyMIDI(io.BytesIO(data)))
        # training windows are the inference windows (15 s, 50% overlap): the same statistics at both
        # ends, and twice the rows (each segment still weighs one in training)
        spans = window_spans(len(audio) / FEATURE_SR)
        a_rows, n_rows = family_rows(audio, notes, spans)
        return spans, a_rows, n_rows

    return _cached(cache_dir, "features", data + f"|{soundfont.name}|{FEATURE_VERSION}".encode(), compute)


def build_table(
    percepiano_dir: Path,
    keys: Sequence[str],
    soundfont: Path,
    cache_dir: Path | None,
    *,
    transform: Callable[[bytes], bytes] | None = None,
    transcribe: bool = True,
    progress: Progress | None = None,
) -> FeatureTable:
    table = FeatureTable([], [], [], [], [])
    transcriber = Transcriber(threads=1) if transcribe else None
    for i, key in enumerate(keys):
        data = midi_path(percepiano_dir, key).read_bytes()
        if transform is not None:
            data = transform(data)
        spans, a_rows, n_rows = midi_features(data, soundfont, cache_dir)
        table.keys += [key] * len(spans)
        table.spans += list(spans)
        table.audio += a_rows
        table.notes += n_rows
        if transcriber is not None:
            audio = cached_render(data, soundfont, cache_dir)
            tnotes = cached_transcription(audio, cache_dir, transcriber)
            table.transcribed += transcribed_rows(tnotes, spans, len(audio) / FEATURE_SR)
        _report(progress, i, f"features {i}/{len(keys)} {key}")
    return table


def _midi_notes(data: bytes) -> Notes:
    import pretty_midi

    return notes_from_midi(pretty_midi.PrettyMIDI(io.BytesIO(data)))


def _true_and_heard_aligned_rows(
    data: bytes,
    score_data: bytes,
    audio: np.ndarray,
    spans: Sequence[tuple[float, float]],
    cache_dir: Path | None,
    transcriber: Transcriber,
) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    """Score-relative rows of a performance's true notes and of its render's transcription."""
    from scorer.inference.align import align

    played = _midi_notes(data)
    score = _midi_notes(score_data)
    heard = cached_transcription(audio, cache_dir, transcriber)
    duration = len(audio) / FEATURE_SR
    return (
        aligned_rows(played, score, align(played, score), spans, duration),
        aligned_rows(heard, score, align(heard, score), spans, duration, prefix=TRANSCRIBED_PREFIX),
    )


def _heard_aligned_rows(
    score_data: bytes,
    audio: np.ndarray,
    spans: Sequence[tuple[float, float]],
    cache_dir: Path | None,
    transcriber: Transcriber,
) -> list[dict[str, float]]:
    """Score-relative rows of a recording's transcription."""
    from scorer.inference.align import align

    score = _midi_notes(score_data)
    heard = cached_transcription(audio, cache_dir, transcriber)
    return aligned_rows(
        heard, score, align(heard, score), spans, len(audio) / FEATURE_SR, prefix=TRANSCRIBED_PREFIX
    )


def build_aligned_table(
    percepiano_dir: Path,
    keys: Sequence[str],
    soundfont: Path,
    cache_dir: Path | None,
    *,
    progress: Progress | None = None,
) -> FeatureTable:
    """Score-relative features of every performance against its passage's score MIDI, per training window
    (the windows of ``build_table``): ``notes`` from the true notes, ``transcribed`` from the render's
    basic-pitch transcription (``tr_`` names). ``with_alignment`` joins them to the main table. Cached per
    file by content."""
    from scorer.training.dataset import score_midi_path

    table = FeatureTable([], [], [], [], [])
    transcriber = Transcriber(threads=1)
    for i, key in enumerate(keys):
        data = midi_path(percepiano_dir, key).read_bytes()
        score_data = score_midi_path(percepiano_dir, key).read_bytes()
        spans, _, _ = midi_features(data, soundfont, cache_dir)
        audio = cached_render(data, soundfont, cache_dir)
        compute = partial(
            _true_and_heard_aligned_rows, data, score_data, audio, spans, cache_dir, transcriber
        )
        # keyed by the windows and every version they depend on: stale rows must not land on other windows
        content = (
            data + score_data + f"|{soundfont.name}|{spans}|{ALIGN_VERSION}|{TRANSCRIBE_VERSION}".encode()
        )
        true_rows, heard_rows = _cached(cache_dir, "aligned", content, compute)
        table.add(key, spans, notes=true_rows, transcribed=heard_rows)
        _report(progress, i, f"aligned features {i}/{len(keys)} {key}")
    return table


def build_aligned_copy_table(
    percepiano_dir: Path,
    copy: FeatureTable,
    audio_of: Callable[[str], np.ndarray],
    cache_dir: Path | None,
    *,
    progress: Progress | None = None,
) -> FeatureTable:
    """Score-relative features of a copy table's recordings (``audio_of(key)``: the render under a recording
    condition, or with another soundfont): each one's transcription aligned to its passage's score MIDI, per
    the copy's own windows (``transcribed`` family, ``tr_`` names; no true notes). Cached per file by content."""
    from scorer.training.dataset import score_midi_path

    spans_of: dict[str, list[tuple[float, float]]] = {}
    for key, span in zip(copy.keys, copy.spans, strict=False):
        spans_of.setdefault(key, []).append(span)
    table = FeatureTable([], [], [], [], [])
    transcriber = Transcriber(threads=1)
    for i, (key, spans) in enumerate(spans_of.items()):
        score_data = score_midi_path(percepiano_dir, key).read_bytes()
        audio = audio_of(key)
        compute = partial(_heard_aligned_rows, score_data, audio, spans, cache_dir, transcriber)
        content = (
            audio.tobytes() + score_data + f"|copy|{spans}|{ALIGN_VERSION}|{TRANSCRIBE_VERSION}".encode()
        )
        heard_rows = _cached(cache_dir, "aligned", content, compute)
        table.add(key, spans, transcribed=heard_rows)
        _report(progress, i, f"aligned copy features {i}/{len(spans_of)} {key}")
    return table


def with_alignment(table: FeatureTable, aligned: FeatureTable) -> FeatureTable:
    """The main table with the score-relative features joined to its note and transcription families."""
    if (
        aligned.keys != table.keys
        or aligned.spans != table.spans
        or not len(aligned.notes) == len(aligned.transcribed) == len(table.keys)
    ):
        raise ValueError("the aligned table's windows are not the feature table's: rebuild it")
    return FeatureTable(
        list(table.keys),
        list(table.spans),
        list(table.audio),
        [{**a, **b} for a, b in zip(table.notes, aligned.notes, strict=False)],
        [{**a, **b} for a, b in zip(table.transcribed, aligned.transcribed, strict=False)],
    )


def augmentation_seed(key: str) -> int:
    """The recording chain drawn for a PercePiano key (fixed, so a rebuild gives the same table)."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)


def augmented_audio(percepiano_dir: Path, key: str, soundfont: Path, cache_dir: Path | None) -> np.ndarray:
    """A performance's render under its recording chain (the augmented copy's audio)."""
    from scorer.training.augment import recording_chain

    audio = cached_render(midi_path(percepiano_dir, key).read_bytes(), soundfont, cache_dir)
    return recording_chain(audio, np.random.default_rng(augmentation_seed(key)))


def build_augmented_table(
    percepiano_dir: Path,
    keys: Sequence[str],
    soundfont: Path,
    cache_dir: Path | None,
    *,
    progress: Progress | None = None,
) -> FeatureTable:
    """Audio-head rows of every performance under one random recording condition (scorer.training.augment): the
    waveform descriptors and transcription features of the degraded render, per window with context.
    No true-note family: the MIDI head is not trained on them. Cached per file by content."""
    table = FeatureTable([], [], [], [], [])
    transcriber = Transcriber(threads=1)
    for i, key in enumerate(keys):
        degraded = augmented_audio(percepiano_dir, key, soundfont, cache_dir)

        def compute(
            y: np.ndarray = degraded,
        ) -> tuple[list[tuple[float, float]], list[dict[str, float]], list[dict[str, float]]]:
            spans = window_spans(len(y) / FEATURE_SR)
            a_rows, _ = family_rows(y, None, spans)
            notes = cached_transcription(y, cache_dir, transcriber)
            return spans, a_rows, transcribed_rows(notes, spans, len(y) / FEATURE_SR)

        spans, a_rows, t_rows = _cached(
            cache_dir, "features", degraded.tobytes() + f"|aug|{FEATURE_VERSION}".encode(), compute
        )
        table.add(key, spans, audio=a_rows, transcribed=t_rows)
        _report(progress, i, f"augmented features {i}/{len(keys)} {key}")
    return table
