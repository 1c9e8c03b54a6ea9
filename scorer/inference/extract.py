"""Per-window features of PercePiano performances (render -> windows -> features), cached per file."""

from __future__ import annotations

import hashlib
import io
import logging
import pickle
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from scorer.training.dataset import FeatureTable, midi_path
from scorer.inference.features import FEATURE_SR, Notes, frame_descriptors, note_features, notes_from_midi, span_features
from scorer.inference.render import cached_render
from scorer.inference.transcribe import Transcriber
from scorer.inference.windows import context_spans, window_spans

if TYPE_CHECKING:
    from scorer.inference.align import Alignment

log = logging.getLogger(__name__)
T = TypeVar("T")
FEATURE_VERSION = "v3"  # v3: + 30 s context spans (ctx_), overlapping training windows, contour note features
TRANSCRIBE_VERSION = "bp-0.4.0-v1"  # basic-pitch release + our thresholds (scorer/inference/transcribe.py)
TRANSCRIBED_PREFIX = "tr_"
CONTEXT_PREFIX = "ctx_"
ALIGN_VERSION = "al-v1"  # scorer/inference/align.py's alignment and features


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


def cached_transcription(audio: np.ndarray, cache_dir: Path | None, transcriber: "Transcriber") -> Notes:
    """basic-pitch notes of a rendered clip, cached by the audio's content (transcribing is the slow part)."""
    return _cached(cache_dir, "transcribe", audio.tobytes() + TRANSCRIBE_VERSION.encode(),
                   lambda: transcriber.transcribe(audio, FEATURE_SR))


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
    return [{**rows[i], **{CONTEXT_PREFIX + k: v for k, v in rows[j].items()}} for i, j in zip(index, context_index)]


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
    played: Notes, score: Notes, alignment: "Alignment", spans: Sequence[tuple[float, float]], duration: float,
    *, prefix: str = "",
) -> list[dict[str, float]]:
    """Score-relative features (``scorer.inference.align.alignment_features``) of the played notes per window, with its
    context span's; ``prefix`` names them apart (``tr_`` for a transcription, as its note features)."""
    from scorer.inference.align import alignment_features

    unique, idx, cidx = _with_contexts(spans, duration)
    rows = [{prefix + k: v for k, v in alignment_features(played, score, alignment, a, b).items()} for a, b in unique]
    return with_context(rows, idx, cidx)


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
        if transcriber is not None and transcription is not None else [{} for _ in spans]
    )
    return [{**a, **t, **n} for a, t, n in zip(a_rows, t_rows, n_rows)]


def build_table(
    percepiano_dir: Path,
    keys: Sequence[str],
    soundfont: Path,
    cache_dir: Path | None,
    *,
    transform: Callable[[bytes], bytes] | None = None,
    transcribe: bool = True,
    progress: bool = False,
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
        if progress and i % 50 == 0:
            print(f"features {i}/{len(keys)} {key}", flush=True)
    return table


def build_aligned_table(
    percepiano_dir: Path,
    keys: Sequence[str],
    soundfont: Path,
    cache_dir: Path | None,
    *,
    progress: bool = False,
) -> FeatureTable:
    """Score-relative features of every performance against its passage's score MIDI, per training window
    (the windows of ``build_table``): ``notes`` from the true notes, ``transcribed`` from the render's
    basic-pitch transcription (``tr_`` names). ``with_alignment`` joins them to the main table. Cached per
    file by content."""
    import pretty_midi

    from scorer.inference.align import align
    from scorer.training.dataset import score_midi_path

    table = FeatureTable([], [], [], [], [])
    transcriber = Transcriber(threads=1)
    for i, key in enumerate(keys):
        data = midi_path(percepiano_dir, key).read_bytes()
        score_data = score_midi_path(percepiano_dir, key).read_bytes()
        spans, _, _ = midi_features(data, soundfont, cache_dir)
        audio = cached_render(data, soundfont, cache_dir)

        def compute() -> tuple[list[dict[str, float]], list[dict[str, float]]]:
            played = notes_from_midi(pretty_midi.PrettyMIDI(io.BytesIO(data)))
            score = notes_from_midi(pretty_midi.PrettyMIDI(io.BytesIO(score_data)))
            heard = cached_transcription(audio, cache_dir, transcriber)
            duration = len(audio) / FEATURE_SR
            return (aligned_rows(played, score, align(played, score), spans, duration),
                    aligned_rows(heard, score, align(heard, score), spans, duration, prefix=TRANSCRIBED_PREFIX))

        # keyed by the windows and every version they depend on: stale rows must not land on other windows
        content = data + score_data + f"|{soundfont.name}|{spans}|{ALIGN_VERSION}|{TRANSCRIBE_VERSION}".encode()
        true_rows, heard_rows = _cached(cache_dir, "aligned", content, compute)
        table.add(key, spans, notes=true_rows, transcribed=heard_rows)
        if progress and i % 50 == 0:
            print(f"aligned features {i}/{len(keys)} {key}", flush=True)
    return table


def build_aligned_copy_table(
    percepiano_dir: Path,
    copy: FeatureTable,
    audio_of: Callable[[str], np.ndarray],
    cache_dir: Path | None,
    *,
    progress: bool = False,
) -> FeatureTable:
    """Score-relative features of a copy table's recordings (``audio_of(key)``: the render under a recording
    condition, or with another soundfont): each one's transcription aligned to its passage's score MIDI, per
    the copy's own windows (``transcribed`` family, ``tr_`` names; no true notes). Cached per file by content."""
    import pretty_midi

    from scorer.inference.align import align
    from scorer.training.dataset import score_midi_path

    spans_of: dict[str, list[tuple[float, float]]] = {}
    for key, span in zip(copy.keys, copy.spans):
        spans_of.setdefault(key, []).append(span)
    table = FeatureTable([], [], [], [], [])
    transcriber = Transcriber(threads=1)
    for i, (key, spans) in enumerate(spans_of.items()):
        score_data = score_midi_path(percepiano_dir, key).read_bytes()
        audio = audio_of(key)

        def compute() -> list[dict[str, float]]:
            score = notes_from_midi(pretty_midi.PrettyMIDI(io.BytesIO(score_data)))
            heard = cached_transcription(audio, cache_dir, transcriber)
            return aligned_rows(heard, score, align(heard, score), spans, len(audio) / FEATURE_SR,
                                prefix=TRANSCRIBED_PREFIX)

        content = (audio.tobytes() + score_data
                   + f"|copy|{spans}|{ALIGN_VERSION}|{TRANSCRIBE_VERSION}".encode())
        heard_rows = _cached(cache_dir, "aligned", content, compute)
        table.add(key, spans, transcribed=heard_rows)
        if progress and i % 50 == 0:
            print(f"aligned copy features {i}/{len(spans_of)} {key}", flush=True)
    return table


def with_alignment(table: FeatureTable, aligned: FeatureTable) -> FeatureTable:
    """The main table with the score-relative features joined to its note and transcription families."""
    if (aligned.keys != table.keys or aligned.spans != table.spans
            or not len(aligned.notes) == len(aligned.transcribed) == len(table.keys)):
        raise ValueError("the aligned table's windows are not the feature table's: rebuild it")
    return FeatureTable(list(table.keys), list(table.spans), list(table.audio),
                        [{**a, **b} for a, b in zip(table.notes, aligned.notes)],
                        [{**a, **b} for a, b in zip(table.transcribed, aligned.transcribed)])


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
    progress: bool = False,
) -> FeatureTable:
    """Audio-head rows of every performance under one random recording condition (scorer.training.augment): the
    waveform descriptors and transcription features of the degraded render, per window with context.
    No true-note family: the MIDI head is not trained on them. Cached per file by content."""
    table = FeatureTable([], [], [], [], [])
    transcriber = Transcriber(threads=1)
    for i, key in enumerate(keys):
        degraded = augmented_audio(percepiano_dir, key, soundfont, cache_dir)

        def compute(y: np.ndarray = degraded) -> tuple[list[tuple[float, float]], list[dict[str, float]],
                                                       list[dict[str, float]]]:
            spans = window_spans(len(y) / FEATURE_SR)
            a_rows, _ = family_rows(y, None, spans)
            notes = cached_transcription(y, cache_dir, transcriber)
            return spans, a_rows, transcribed_rows(notes, spans, len(y) / FEATURE_SR)

        spans, a_rows, t_rows = _cached(cache_dir, "features", degraded.tobytes() + f"|aug|{FEATURE_VERSION}".encode(),
                                        compute)
        table.add(key, spans, audio=a_rows, transcribed=t_rows)
        if progress and i % 50 == 0:
            print(f"augmented features {i}/{len(keys)} {key}", flush=True)
    return table
