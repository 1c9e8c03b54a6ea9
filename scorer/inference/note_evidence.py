"""Audio input: check each note-error claim against the transcriber's own posteriors, not only its notes.

A transcription is a thresholded reading of basic-pitch's onset and note posteriors (frames x 88 keys). The
thresholding loses what the assessment needs: a soft inner voice falls under the onset threshold (a false
"missed"), a ghost at the notated pitch passes it (an injected semitone slip then reads as one extra note),
and basic-pitch's decoder clears the bins a semitone either side of every note it takes, so a notated note
and a wrong neighbour struck together come out as one. With the score aligned, every claim names a pitch
and a time, and the posteriors there can be read directly:

- **missed**: the notated pitch is absent where the time map puts it (onset and note posteriors both under
  ``ABSENT`` within ``WINDOW_S``). This replaces the blunter rule without posteriors ("only when the whole
  notated chord is unheard"), so a note left out of a chord can be reported, and a note the decoder dropped
  but the posteriors show is not. An octave doubling whose partner sounds is not claimed (a transcriber
  cannot hear one octave under the other);
- **wrong** (played p instead of notated s): s itself is absent (under ``WRONG_ABSENT``); when s sounds, the
  played note was struck beside it: an extra note, if it passes the extra rule;
- **extra**: a strong onset (``EXTRA_ONSET``) that is no overtone of a sounding note and no notated pitch
  struck within ``OFF_TIME_S`` of its place (a late or repeated note, not a wrong one);
- a missed note and a strong played note at a plausible slip (a semitone, a tone, an octave) within
  ``SLIP_TOL_S`` of its place are one wrong note; of the same pitch within ``OFF_TIME_S``, a note played off
  its time, which is no note error.

Thresholds chosen on the TUNE half of ``eval/sets/notes_split.json`` (the injected-error benchmark, 40
performances, clean FluidR3 renders, basic-pitch; eval/results/notes_benchmark.md): of the settings within
0.01 of the best TUNE F1, the one inventing the fewest errors on the untouched renders (a false "wrong
note" costs a student's trust more than a missed one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scorer.inference.align import events
from scorer.inference.features import Notes
from scorer.inference.note_match import PLAUSIBLE_SLIPS, NoteMatch

MIDI_OFFSET = 21  # the posteriors' first key (A0)
WINDOW_S = 0.07  # half-width around a claim's time in which the posteriors are read
ABSENT = 0.3  # onset and note posteriors both under this: the pitch is not sounding
WRONG_ABSENT = 0.4  # a substitution's notated pitch under this (onset): it was not played
EXTRA_ONSET = 0.7  # an extra note's onset posterior at least this
OFF_TIME_S = 0.5  # a notated pitch struck this close to its place: off time, not extra
SLIP_TOL_S = 0.12  # a missed note and a played slip this close: one wrong note
SLIPS = tuple(x for d in PLAUSIBLE_SLIPS for x in (d, -d))  # semitones, most plausible first
REGISTER_MIN_NOTES = 4  # an octave with fewer notated notes in the pass is not judged
REGISTER_HEARD = 0.5  # ... and with fewer than this share heard, it is not carried by the recording
OVERTONES = np.array([7, 12, 19, 24, 28, 31, -12])  # a transcriber's ghost of a sounding note


@dataclass(frozen=True)
class Posteriorgram:
    """A transcriber's frame-wise posteriors: ``onset`` and ``note`` (frames x 88 keys, A0 first) and the
    time of each frame in seconds."""

    onset: np.ndarray
    note: np.ndarray
    times: np.ndarray

    def peak(self, which: str, time_s: float, pitch: int, half_window_s: float = WINDOW_S) -> float:
        """Highest ``which`` ("onset" or "note") posterior of ``pitch`` within ``half_window_s`` of
        ``time_s`` (0 outside the recording or the keyboard)."""
        post = self.onset if which == "onset" else self.note
        a = int(np.searchsorted(self.times, time_s - half_window_s))
        b = int(np.searchsorted(self.times, time_s + half_window_s, side="right"))
        key = int(pitch) - MIDI_OFFSET
        if b <= a or not 0 <= key < post.shape[1]:
            return 0.0
        return float(post[a:b, key].max())

    def absent(self, time_s: float, pitch: int, threshold: float = ABSENT) -> bool:
        return self.peak("onset", time_s, pitch) < threshold and self.peak("note", time_s, pitch) < threshold


def _index(values: list[int]) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def verify_claims(
    match: NoteMatch,
    missed: np.ndarray,
    extra: np.ndarray,
    perf: Notes,
    snotes: Notes,
    evidence: Posteriorgram,
    pass_notes: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(wrong [p, s] pairs, missed s, extra p) of one pass after checking ``match``'s substitutions and the
    ``missed`` / ``extra`` candidates (already through the assessment's own filters) against ``evidence``;
    ``pass_notes``: the pass's notated notes, whose heard share tells which registers the recording carries
    (default: all)."""
    where = match.to_performance_time(snotes.onset)
    missed_kept = [int(s) for s in missed if evidence.absent(float(where[s]), int(snotes.pitch[s]))]
    wrong_kept: list[tuple[int, int]] = []
    struck_beside: list[int] = []
    for p, s in match.wrong:
        if evidence.peak("onset", float(perf.onset[p]), int(snotes.pitch[s])) < WRONG_ABSENT:
            wrong_kept.append((int(p), int(s)))
        else:
            struck_beside.append(int(p))
    extra_kept = [p for p in [*map(int, extra), *struck_beside] if _strong_extra(p, perf, evidence)]
    extra_kept = _without_harmonics_of_low_notes(extra_kept, perf, snotes, match)
    missed_kept = _without_octave_doublings(missed_kept, match, snotes)
    missed_kept = _in_heard_registers(
        missed_kept, match, snotes, np.arange(snotes.pitch.size) if pass_notes is None else pass_notes
    )
    missed_kept, extra_kept = _without_off_time(missed_kept, extra_kept, perf, snotes, where)
    slips, missed_kept, extra_kept = _pair_slips(missed_kept, extra_kept, perf, snotes, where)
    wrong = np.asarray(wrong_kept + slips, dtype=np.int64).reshape(-1, 2)
    return wrong, _index(missed_kept), _index(extra_kept)


def confirm_missed(
    match: NoteMatch, missed: np.ndarray, snotes: Notes, evidence: Posteriorgram
) -> np.ndarray:
    """Missed notes (score indices) of a near-MIDI transcription (transkun, judged with the MIDI rules) that
    a second ear, basic-pitch's posteriors of the same audio, confirms: no onset of the pitch (under
    ``ABSENT``) within ``WINDOW_S`` of where the time map puts it. transkun's own misses are very soft, short
    notes; basic-pitch often hears them struck. The onset alone is read: the pitch may still ring from an
    earlier stroke. (Substitutions are not checked this way: basic-pitch's onsets bleed into the keys a
    semitone away, so an injected slip "sounds" at its notated pitch; eval/results/transcription.md.)"""
    where = match.to_performance_time(snotes.onset)
    return _index(
        [int(s) for s in missed if evidence.peak("onset", float(where[s]), int(snotes.pitch[s])) < ABSENT]
    )


def is_overtone(p: int, perf: Notes) -> bool:
    """Played note ``p`` sits at an overtone interval (``OVERTONES``) of another note sounding as it starts:
    a transcriber's ghost of that note rather than a key the player struck."""
    t = perf.onset[p]
    sounding = (perf.onset <= t + 0.05) & (perf.offset >= t) & (np.arange(perf.pitch.size) != p)
    return bool(np.isin(perf.pitch[p] - perf.pitch[sounding], OVERTONES).any())


LOW_NOTE = 48  # under C3 a transcriber often misses the fundamental but hears its upper harmonics
HIGH_HARMONICS = np.array([19, 24, 28, 31])  # the 3rd to 6th harmonics (not the octave: a plausible slip)


def _without_harmonics_of_low_notes(
    extra: list[int], perf: Notes, snotes: Notes, match: NoteMatch
) -> list[int]:
    """Extra notes less those at an upper harmonic of a low notated note sounding then (through the time map):
    the transcriber left the low note out but heard its harmonics (an "extra E3" above a repeated A1 that
    basic-pitch did not transcribe: probe, 2026-12-07)."""
    if not extra:
        return extra
    low = snotes.pitch < LOW_NOTE
    start = match.to_performance_time(snotes.onset[low])
    end = match.to_performance_time(snotes.offset[low])
    kept = []
    for p in extra:
        t = float(perf.onset[p])
        sounding = (start <= t + 0.05) & (end >= t)
        if not np.isin(perf.pitch[p] - snotes.pitch[low][sounding], HIGH_HARMONICS).any():
            kept.append(p)
    return kept


def _strong_extra(p: int, perf: Notes, evidence: Posteriorgram) -> bool:
    if is_overtone(p, perf):
        return False
    return evidence.peak("onset", float(perf.onset[p]), int(perf.pitch[p])) >= EXTRA_ONSET


def _without_octave_doublings(missed: list[int], match: NoteMatch, snotes: Notes) -> list[int]:
    """Missed notes whose octave partner in the same notated chord was heard are not claimed."""
    if not missed:
        return missed
    chord = events(snotes.onset, 1e-4)
    heard = np.zeros(snotes.pitch.size, dtype=bool)
    heard[match.pairs[:, 1]] = True
    out = []
    for s in missed:
        interval = np.abs(snotes.pitch - snotes.pitch[s])
        partner = (chord == chord[s]) & heard & (interval % 12 == 0) & (interval > 0)
        if not partner.any():
            out.append(s)
    return out


def _in_heard_registers(
    missed: list[int], match: NoteMatch, snotes: Notes, pass_notes: np.ndarray
) -> list[int]:
    """Missed notes only in registers the recording carries: where fewer than half of an octave's notated
    notes were heard (a phone's band cuts the bass; a transcriber deaf in one register), silence there is
    the recording's, not the player's."""
    if not missed:
        return missed
    heard = match.heard(snotes.pitch.size)
    octave = snotes.pitch.astype(np.int64) // 12
    deaf = set()
    for o in np.unique(octave[pass_notes]):
        in_octave = pass_notes[octave[pass_notes] == o]
        if in_octave.size >= REGISTER_MIN_NOTES and heard[in_octave].mean() < REGISTER_HEARD:
            deaf.add(int(o))
    return [s for s in missed if int(octave[s]) not in deaf]


def _without_off_time(
    missed: list[int], extra: list[int], perf: Notes, snotes: Notes, where: np.ndarray
) -> tuple[list[int], list[int]]:
    """A notated pitch played within OFF_TIME_S of its place is off time, not missed + extra; a notated
    pitch struck again near its place is no extra note."""
    gone_m: set[int] = set()
    gone_e: set[int] = set()
    for s in missed:
        for p in extra:
            if (
                p not in gone_e
                and perf.pitch[p] == snotes.pitch[s]
                and abs(perf.onset[p] - where[s]) < OFF_TIME_S
            ):
                gone_m.add(s)
                gone_e.add(p)
                break
    missed = [s for s in missed if s not in gone_m]
    extra = [
        p
        for p in extra
        if p not in gone_e
        and not np.any((snotes.pitch == perf.pitch[p]) & (np.abs(where - perf.onset[p]) < OFF_TIME_S))
    ]
    return missed, extra


def _pair_slips(
    missed: list[int], extra: list[int], perf: Notes, snotes: Notes, where: np.ndarray
) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """A missed notated note and a strong played note a plausible slip away at its place: one wrong note."""
    pairs: list[tuple[int, int]] = []
    used_m: set[int] = set()
    used_e: set[int] = set()
    for step in SLIPS:
        for s in missed:
            if s in used_m:
                continue
            for p in extra:
                if (
                    p not in used_e
                    and perf.pitch[p] - snotes.pitch[s] == step
                    and abs(perf.onset[p] - where[s]) < SLIP_TOL_S
                ):
                    pairs.append((p, s))
                    used_m.add(s)
                    used_e.add(p)
                    break
    return pairs, [s for s in missed if s not in used_m], [p for p in extra if p not in used_e]
