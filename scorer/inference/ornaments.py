"""The notes a player adds to play an ornament the score marks (a trill, a mordent): the notated note and one
neighbour a semitone or a tone away, alternating, from where the ornament's note should sound.

Found after a first match (its time map says where the note is), so that the note assessment can match the
pass again without them: left in, a trill played out over its note's length and beyond (a held chord, a
fermata-like pause) paired its strokes with the notated notes around it, bent the time map and left missed and
extra notes and a rushed and a dragged bar after it (probe, 2026-12-07)."""

from __future__ import annotations

import numpy as np

from scorer.inference.features import Notes
from scorer.inference.note_match import NoteMatch

RUN_START_S = 0.3  # the ornament starts this close to where its note should sound
RUN_GAP_S = 0.3  # strokes of one ornament follow each other this closely
MIN_STROKES = 3  # main, neighbour, main: a mordent at least


def ornament_strokes(match: NoteMatch, played: Notes, score: Notes, ornament: np.ndarray) -> np.ndarray:
    """Indices of ``played`` (sorted by onset) that are strokes of an ornament of ``score`` beyond its first
    (the note itself): for each ornamented notated note, the longest run of played notes alternating its
    pitch and one neighbour (1 or 2 semitones away), starting within ``RUN_START_S`` of its mapped time, each
    within ``RUN_GAP_S`` of the previous, ``MIN_STROKES`` or more."""
    predicted = match.to_performance_time(score.onset)
    strokes: set[int] = set()
    for s in map(int, np.flatnonzero(ornament)):
        note = int(score.pitch[s])
        near = np.flatnonzero(
            (np.abs(played.pitch - note) <= 2) & (played.onset >= predicted[s] - RUN_START_S)
        )
        run: list[int] = []
        neighbour: int | None = None  # the ornament's other key, set by its first stroke
        for p in map(int, near):
            key = int(played.pitch[p])
            if not run:
                if played.onset[p] > predicted[s] + RUN_START_S:
                    break
                if key == note:
                    run.append(p)
                continue
            if played.onset[p] - played.onset[run[-1]] > RUN_GAP_S:
                break
            if neighbour is None and key != note:
                neighbour = key
            if key == (note if int(played.pitch[run[-1]]) != note else neighbour):
                run.append(p)  # the alternation goes on; any other note near it is another voice's
        if len(run) >= MIN_STROKES:
            strokes.update(run[1:])
    return np.array(sorted(strokes), dtype=np.int64)
