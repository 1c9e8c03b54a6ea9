"""How loud a take is, frame by frame, and which transcribed notes sound at all.

A transcriber reads its input's level away (basic-pitch's constant-Q is log-scaled and normalised), so it also
"hears" notes in a render's tail or a recording's noise floor: a quiet TimGM6mb render's tail gave a dozen
notes that the note path followed as a second pass through the last bars (a false restart and four false
missed notes). ``audible`` drops such notes before they meet the score. Levels are relative to the take (its
floor and its loud level), not to full scale: a render normalised to its peak and one left quiet put the same
tail at -79 and at -93 dBFS."""

from __future__ import annotations

import numpy as np

from scorer.inference.features import Notes

FRAME_S = 0.05
# a note is dropped when the sound at its onset is within FLOOR_MARGIN_DB of the take's floor (its quietest
# frames: the 2nd percentile) and at least BELOW_LOUD_DB under its loud level (the 95th percentile); the
# second condition keeps a soft take that has no silence, whose floor is its own quietest music
FLOOR_MARGIN_DB = 10.0
BELOW_LOUD_DB = 35.0


def frame_rms(y: np.ndarray, sr: int, frame_s: float = FRAME_S) -> np.ndarray:
    """RMS of consecutive ``frame_s`` frames (a last partial frame left out)."""
    frame = max(1, int(round(sr * frame_s)))
    n = len(y) // frame
    return np.sqrt(np.mean(np.square(y[: n * frame].reshape(n, frame), dtype=np.float64), axis=1))


def audible(notes: Notes, audio: np.ndarray, sr: int) -> Notes:
    """``notes`` less those whose onset (its first 100 ms) sounds at the take's floor, far under its loud
    level (``FLOOR_MARGIN_DB``, ``BELOW_LOUD_DB``)."""
    level = 20 * np.log10(frame_rms(audio, sr) + 1e-12)
    if level.size == 0 or notes.onset.size == 0:
        return notes
    floor, loud = np.percentile(level, [2, 95])
    gate = min(float(floor) + FLOOR_MARGIN_DB, float(loud) - BELOW_LOUD_DB)
    first = np.clip((notes.onset / FRAME_S).astype(np.int64), 0, level.size - 1)
    at_onset = np.maximum(level[first], level[np.minimum(first + 1, level.size - 1)])
    keep = at_onset >= gate
    if keep.all():
        return notes
    return Notes(notes.onset[keep], notes.offset[keep], notes.pitch[keep], notes.velocity[keep], notes.pedal)
