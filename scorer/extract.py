"""Per-window features of PercePiano performances (render -> windows -> features), cached per file."""

from __future__ import annotations

import hashlib
import io
import logging
import pickle
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from scorer.dataset import FeatureTable, midi_path
from scorer.features import FEATURE_SR, Notes, audio_features, note_features, notes_from_midi
from scorer.render import cached_render
from scorer.windows import training_spans

log = logging.getLogger(__name__)
FEATURE_VERSION = "v1"


def window_features(
    audio: np.ndarray, notes: Notes | None, spans: Sequence[tuple[float, float]], sr: int = FEATURE_SR
) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    """Audio (and, when notes are known, note) features for each span."""
    a_rows: list[dict[str, float]] = []
    n_rows: list[dict[str, float]] = []
    with warnings.catch_warnings():
        # librosa warns on near-silent windows (tuning of an empty frame set): not the user's concern
        warnings.simplefilter("ignore")
        for start, end in spans:
            clip = audio[int(start * sr) : int(end * sr)]
            a_rows.append(audio_features(clip, sr))
            n_rows.append(note_features(notes.window(start, end), end - start) if notes is not None else {})
    return a_rows, n_rows


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
    key = hashlib.sha256(data + f"|{soundfont.name}|{FEATURE_VERSION}".encode()).hexdigest()[:24]
    path = cache_dir / "features" / key[:2] / f"{key}.pkl" if cache_dir else None
    if path is not None and path.is_file():
        return pickle.loads(path.read_bytes())
    audio = cached_render(data, soundfont, cache_dir)
    notes = notes_from_midi(pretty_midi.PrettyMIDI(io.BytesIO(data)))
    duration = len(audio) / FEATURE_SR
    spans = training_spans(duration)
    a_rows, n_rows = window_features(audio, notes, spans)
    result = (spans, a_rows, n_rows)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(result))
    return result


def build_table(
    percepiano_dir: Path,
    keys: Sequence[str],
    soundfont: Path,
    cache_dir: Path | None,
    *,
    transform: Callable[[bytes], bytes] | None = None,
    audio_transform: Callable[[np.ndarray], np.ndarray] | None = None,
    progress: bool = False,
) -> FeatureTable:
    table = FeatureTable([], [], [], [])
    for i, key in enumerate(keys):
        data = midi_path(percepiano_dir, key).read_bytes()
        if audio_transform is None:
            spans, a_rows, n_rows = midi_features(data, soundfont, cache_dir, transform=transform)
        else:
            import pretty_midi

            if transform is not None:
                data = transform(data)
            audio = audio_transform(cached_render(data, soundfont, cache_dir))
            notes = notes_from_midi(pretty_midi.PrettyMIDI(io.BytesIO(data)))
            spans = training_spans(len(audio) / FEATURE_SR)
            a_rows, n_rows = window_features(audio, notes, spans)
        table.keys += [key] * len(spans)
        table.spans += list(spans)
        table.audio += a_rows
        table.notes += n_rows
        if progress and i % 50 == 0:
            print(f"features {i}/{len(keys)} {key}", flush=True)
    return table
