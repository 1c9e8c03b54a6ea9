"""basic-pitch posteriors -> note events, the same notes as basic-pitch's own decoder, faster.

basic-pitch's ``output_to_notes_polyphonic`` finds its "melodia" notes by taking the argmax of the
whole remaining-energy matrix once per note (O(notes x frames x pitches): ~0.75 s of a 2-minute
recording) and ``model_output_to_notes`` then fits pitch bends we never read (~0.35 s). Energy in
that matrix is only ever set to zero, so the successive maxima are the entries above threshold taken
in descending order, skipping the ones already zeroed: one sort instead of an argmax per note. Ties
go to the lowest flat index, as ``np.argmax`` does, so the notes are identical (tested against
basic-pitch on real recordings).
"""

from __future__ import annotations

import numpy as np
import scipy.signal

MIDI_OFFSET = 21  # basic-pitch's pitch of frequency bin 0
MAX_FREQ_IDX = 87
ENERGY_TOL = 11  # frames under threshold that end a note (basic-pitch's default)

NoteEvent = tuple[float, float, int, float]  # start s, end s, MIDI pitch, amplitude 0-1


def _inferred_onsets(onsets: np.ndarray, frames: np.ndarray, n_diff: int = 2) -> np.ndarray:
    """Onsets plus large rises of the frame activations (basic-pitch's ``infer_onsets``)."""
    diffs = []
    for n in range(1, n_diff + 1):
        padded = np.concatenate([np.zeros((n, frames.shape[1])), frames])
        diffs.append(padded[n:, :] - padded[:-n, :])
    frame_diff = np.min(diffs, axis=0)
    frame_diff[frame_diff < 0] = 0
    frame_diff[:n_diff, :] = 0
    frame_diff = np.max(onsets) * frame_diff / np.max(frame_diff)
    return np.max([onsets, frame_diff], axis=0)


def _clear(energy: np.ndarray, rows: slice | int, freq: int) -> None:
    """Zero a note's bin and its two neighbours over ``rows``."""
    energy[rows, freq] = 0
    if freq < MAX_FREQ_IDX:
        energy[rows, freq + 1] = 0
    if freq > 0:
        energy[rows, freq - 1] = 0


def _onset_notes(
    energy: np.ndarray,
    frames: np.ndarray,
    onsets: np.ndarray,
    onset_thresh: float,
    frame_thresh: float,
    min_note_len: int,
) -> list[tuple[int, int, int, float]]:
    """Notes that start at an onset peak, latest first; their energy is removed from ``energy``."""
    n_frames = frames.shape[0]
    peaks = np.zeros(onsets.shape)
    where = scipy.signal.argrelmax(onsets, axis=0)
    peaks[where] = onsets[where]
    t_idx, f_idx = np.where(peaks >= onset_thresh)
    notes = []
    for start, freq in zip(t_idx[::-1].tolist(), f_idx[::-1].tolist(), strict=False):
        if start >= n_frames - 1:
            continue
        column = energy[:, freq]
        i, k = start + 1, 0
        while i < n_frames - 1 and k < ENERGY_TOL:
            k = k + 1 if column[i] < frame_thresh else 0
            i += 1
        i -= k
        if i - start <= min_note_len:
            continue
        _clear(energy, slice(start, i), freq)
        notes.append((start, i, freq + MIDI_OFFSET, float(np.mean(frames[start:i, freq]))))
    return notes


def _melodia_notes(
    energy: np.ndarray, frames: np.ndarray, frame_thresh: float, min_note_len: int
) -> list[tuple[int, int, int, float]]:
    """Notes grown forwards and backwards from the strongest remaining energy, strongest first."""
    n_frames, n_freqs = energy.shape
    flat = energy.ravel()
    candidates = np.flatnonzero(flat > frame_thresh)
    # descending energy, ties by flat index: the order successive np.argmax calls would visit them
    order = candidates[np.lexsort((candidates, -flat[candidates]))]
    notes = []
    for index in order.tolist():
        if flat[index] <= frame_thresh:  # zeroed by an earlier note
            continue
        mid, freq = divmod(index, n_freqs)
        energy[mid, freq] = 0
        i, k = mid + 1, 0
        while i < n_frames - 1 and k < ENERGY_TOL:
            k = k + 1 if energy[i, freq] < frame_thresh else 0
            _clear(energy, i, freq)
            i += 1
        end = i - 1 - k
        i, k = mid - 1, 0
        while i > 0 and k < ENERGY_TOL:
            k = k + 1 if energy[i, freq] < frame_thresh else 0
            _clear(energy, i, freq)
            i -= 1
        start = i + 1 + k
        if end - start <= min_note_len:
            continue
        notes.append((start, end, freq + MIDI_OFFSET, float(np.mean(frames[start:end, freq]))))
    return notes


def decode_notes(
    frames: np.ndarray, onsets: np.ndarray, *, onset_thresh: float, frame_thresh: float, min_note_len: int
) -> list[NoteEvent]:
    """Note events (seconds) of basic-pitch's note and onset posteriors (frames x 88), as
    ``model_output_to_notes(..., infer_onsets=True, melodia_trick=True)`` returns them."""
    from basic_pitch.note_creation import model_frames_to_time

    onsets = _inferred_onsets(onsets, frames)
    energy = np.array(frames, dtype=np.float64)
    events = _onset_notes(energy, frames, onsets, onset_thresh, frame_thresh, min_note_len)
    events += _melodia_notes(energy, frames, frame_thresh, min_note_len)
    times = model_frames_to_time(frames.shape[0])
    return [(float(times[s]), float(times[e]), p, a) for s, e, p, a in events]
