"""Controlled faults (issue 18): one problem injected into a performance's MIDI before it is rendered, so
that the feedback can be checked against a problem we know is in the playing.

Each fault is a pure function of (MIDI, seed): the same call gives the same bytes. The dimensions that
must name a fault were written down here before anything was measured (commit history shows it):

- ``jitter``: every note onset moved by N(0, 70 ms) (its release with it) -> timing stability (unstable).
- ``pedal_held``: the sustain pedal held from the first note to the end, the performer's own pedalling
  removed -> pedal clarity (blurred) or pedal amount (saturated/wet).
- ``left_hand_loud``: the accompaniment (every note under the top voice, see ``_accompaniment``) 40
  velocity steps louder, the melody 30 softer -> balance (disproportioned).
- ``flat_dynamics``: every velocity set to the performance's median -> dynamic range (little range).
- ``wrong_notes``: a fifth of the notes moved by one or two semitones -> the note-level spot
  ``wrong_notes`` (needs the score; issue 17's note-level spots).
"""

from __future__ import annotations

import copy
import io
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

JITTER_S = 0.070
WRONG_SHARE = 0.2
LOUD_ADD = 40  # velocity added to the accompaniment
SOFT_SUB = 30  # velocity taken from the melody
CHORD_S = 0.035  # onsets closer than this belong to one chord

# fault -> the dimensions (scorer.dimensions names, or issue 17's note-level spot names) that name it
FAULT_DIMENSIONS: dict[str, frozenset[str]] = {
    "jitter": frozenset({"timing_stability"}),
    "pedal_held": frozenset({"pedal_clarity", "pedal_amount"}),
    "left_hand_loud": frozenset({"balance"}),
    "flat_dynamics": frozenset({"dynamic_range"}),
    "wrong_notes": frozenset({"wrong_notes"}),
}
# the direction each fault must move its perceptual dimension (a sanity check separate from "named")
FAULT_DIRECTION: dict[str, tuple[str, int]] = {
    "jitter": ("timing_stability", +1),
    "pedal_held": ("pedal_clarity", +1),
    "left_hand_loud": ("balance", -1),
    "flat_dynamics": ("dynamic_range", -1),
}
NEEDS_SCORE = frozenset({"wrong_notes"})


def load_midi(path: Path):  # -> pretty_midi.PrettyMIDI
    import pretty_midi

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pretty_midi.PrettyMIDI(str(path))


def midi_bytes(midi: object) -> bytes:
    buf = io.BytesIO()
    midi.write(buf)  # type: ignore[attr-defined]
    return buf.getvalue()


def _notes(midi: object) -> list:
    return [n for inst in midi.instruments if not inst.is_drum for n in inst.notes]  # type: ignore[attr-defined]


def _jitter(midi: object, rng: np.random.Generator) -> None:
    for n in _notes(midi):
        shift = float(rng.normal(0.0, JITTER_S))
        shift = max(shift, -n.start)  # never before the start of the file
        n.start += shift
        n.end += shift


def _pedal_held(midi: object, rng: np.random.Generator) -> None:
    import pretty_midi

    notes = _notes(midi)
    first = min(n.start for n in notes)
    last = max(n.end for n in notes)
    for inst in midi.instruments:  # type: ignore[attr-defined]
        inst.control_changes = [c for c in inst.control_changes if c.number != 64]
        inst.control_changes += [
            pretty_midi.ControlChange(64, 127, max(first - 0.01, 0.0)),
            pretty_midi.ControlChange(64, 0, last),
        ]
        inst.control_changes.sort(key=lambda c: c.time)


def _accompaniment(notes: list) -> tuple[list, list]:
    """(melody, accompaniment): the top note of each chord (onsets within CHORD_S) at or above middle C is
    melody; everything else is the accompaniment (a pianist's left hand, roughly)."""
    ordered = sorted(notes, key=lambda n: (n.start, -n.pitch))
    melody: list = []
    accomp: list = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1].start - ordered[i].start < CHORD_S:
            j += 1
        chord = sorted(ordered[i : j + 1], key=lambda n: -n.pitch)
        top, rest = chord[0], chord[1:]
        (melody if top.pitch >= 60 else accomp).append(top)
        accomp.extend(rest)
        i = j + 1
    return melody, accomp


def _left_hand_loud(midi: object, rng: np.random.Generator) -> None:
    melody, accomp = _accompaniment(_notes(midi))
    for n in accomp:
        n.velocity = int(min(127, n.velocity + LOUD_ADD))
    for n in melody:
        n.velocity = int(max(1, n.velocity - SOFT_SUB))


def _flat_dynamics(midi: object, rng: np.random.Generator) -> None:
    notes = _notes(midi)
    median = int(round(float(np.median([n.velocity for n in notes]))))
    for n in notes:
        n.velocity = median


def _wrong_notes(midi: object, rng: np.random.Generator) -> None:
    notes = _notes(midi)
    chosen = rng.choice(len(notes), size=max(1, int(round(WRONG_SHARE * len(notes)))), replace=False)
    for i in chosen:
        step = int(rng.choice([-2, -1, 1, 2]))
        notes[i].pitch = int(np.clip(notes[i].pitch + step, 21, 108))


FAULTS: dict[str, Callable[[object, np.random.Generator], None]] = {
    "jitter": _jitter,
    "pedal_held": _pedal_held,
    "left_hand_loud": _left_hand_loud,
    "flat_dynamics": _flat_dynamics,
    "wrong_notes": _wrong_notes,
}


def inject(midi: object, fault: str, seed: int = 0):  # -> pretty_midi.PrettyMIDI
    """A faulted copy of ``midi`` (the original is untouched); KeyError for an unknown fault."""
    out = copy.deepcopy(midi)
    FAULTS[fault](out, np.random.default_rng(seed))
    return out
