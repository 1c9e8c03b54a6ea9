"""Weak spots measured from the playing itself (issue 18): pedal blur, flat dynamics, melody/accompaniment
balance and unsteady timing, as evidence a student can check, beside the perceptual model's spots.

The perceptual heads hear a held pedal or flat dynamics, but by less than passages and players differ, so a
percentile rarely names them (eval/results/feedback_measures.md). These measures are scale-free properties of
the notes and the sound, each with a threshold chosen on the TUNE passages only (eval/results/signal_spots.md):

- **pedal blur** (``pedal_clarity``): the share of the sounding time in which a note struck more than
  ``RECENT_S`` earlier (and not struck again) still rings while a note a step away (1-2 semitones) has just
  been struck: old harmony sounding into new. MIDI input: the file's own notes, their sound carried past the
  key release while the sustain pedal (CC64) is down, for at most ``DECAY_S``. Audio: basic-pitch's note
  posteriors (a pitch still sounding above ``SOUNDING``) and onset posteriors (struck above ``STRUCK``);
  where that finds no blur, the share of the time in which five or more pitch classes sound at once
  (harmonies piled up a third or more apart, which a step clash does not see).
- **flat dynamics** (``dynamic_range``): MIDI: the spread of the key velocities (10th to 90th percentile).
  Audio: how much the same key's loudness changes from one stroke to the next (the level each transcribed
  note adds at its key's constant-Q bin, against that key's median): the instrument's own sound differs by
  register, so only strokes of one key are compared.
- **balance** (``balance``): MIDI: the top note of each chord (the melody, at or above middle C) against the
  notes under it, in velocity steps; the median over chords. Audio with a followed score: how clearly
  basic-pitch hears each notated chord's top note struck against the notes under it (onset posteriors).
- **unsteady timing** (``timing_stability``), with a followed score: how far apart the notes of one notated
  chord start (played onsets of a score event's notes), the median over chords, with the bars' onset
  deviation from the local tempo in the reason. Without one (MIDI, or basic-pitch's notes of an audio
  input): notes a chord's width apart in pitch that start 30-80 ms apart (audio: 40-90) in no steady
  order, per pair struck together (``unordered_near_misses``). A pianist who rolls chords or plays the
  melody ahead does it the same way each time; unsteady hands miss in either direction.

Without a score no audio measure of balance is used: the levels of the top transcribed note against the notes
under it did not separate clean from faulted renders on TUNE (basic-pitch misses the soft melody, 2-39% of its
notes, or puts an overtone on top), so such a recording gets balance spots only from the perceptual model. Every reason starts with ``MEASURED`` (``is_signal_spot``): a
report's spots can be told apart and re-merged when its perceptual spots are recomputed.

The other way round (``Evidence``, ``contradicted``): where a measure is exact and clearly normal over a
perceptual weak spot's time range (a MIDI input's velocity spread or pedal blur; with a followed score, chords
together *and* onsets on a steady local beat), that spot is dropped: the model heard a problem the measurement
says is not there. Audio dynamics and pedal blur are not exact enough for this (flat renders reach 2.3 dB, clean
ones start at 1.7; pedal-held renders start at 0.10 blur), and balance is not judged (a melody clearly on top
does not contradict "disproportioned": the melody may be too loud).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from scorer.inference.features import Notes
from scorer.inference.note_evidence import Posteriorgram
from scorer.inference.spots import bars_over
from scorer.schema import MEASURED, BarReport, Spot

if TYPE_CHECKING:
    from scorer.inference.note_assessment import NoteAssessment

STEP = 0.05  # s, time grid of the blur measure
RECENT_S = 1.0  # struck within this: the present harmony; earlier and still sounding: carried over
DECAY_S = 3.0  # MIDI: a note under the pedal is heard at most this long after its key is released
SOUNDING = 0.2  # basic-pitch note posterior: the pitch still sounds
STRUCK = 0.5  # basic-pitch onset posterior: the pitch was struck
CLASH = (1, 2, 10, 11)  # pitch-class distances that clash when they sound together (a step)
CHORD_S = 0.035  # onsets closer than this form one chord (as eval/faults.py)
MIN_NOTES = 16  # fewer notes / chords: no measure
MIN_CHORDS = 8
MIN_REPEATS = 8
# thresholds (TUNE passages of eval/splits/feedback_measures_split.json; eval/results/signal_spots.md)
BLUR_MIDI = 0.45  # share of sounding time with a carried-over clash: clean <= 0.36, pedal held >= 0.48
BLUR_AUDIO = 0.24  # clean <= 0.23 (101 TUNE renders), pedal held 0.10-0.53
CROWDED_PITCH_CLASSES = 5  # more than a seventh chord's 4: more than one harmony sounds
CROWDED_AUDIO = 0.3  # share of sounding time that crowded: clean <= 0.25 (97 TUNE renders, and in a room)
FLAT_VELOCITY = 8.0  # velocity spread (p90 - p10) below this: flat (clean >= 21, all-equal 0)
BALANCE_VELOCITY = -10.0  # melody minus accompaniment, median over chords (clean >= 0, loud left hand <= -45)
CHORD_SPREAD_MS = 55.0  # median onset spread of a notated chord (clean <= 46, jittered >= 35)
FLAT_LEVEL_DB = 1.6  # audio: same-key level spread below this: flat (clean >= 1.73 dB on 101 TUNE renders)
CQT_HOP = 256
ATTACK_S = 0.1
BEFORE_S = 0.04
TOP_VOICE_MARGIN = -0.10  # audio with a score: clean >= -0.02, loud left hand <= -0.12 (flat -0.15 .. 0.06)
TOP_VOICE_WINDOW_S = 0.06
SEVERITY_AT_THRESHOLD = 0.6  # direct evidence ranks above a perceptual spot at its threshold (0.375)
# "clearly normal": an exact measure this far on the clean side of its threshold contradicts the perceptual
# model's weak spot of the same dimension over the same time (chosen on TUNE, eval/results/signal_spots.md)
CLEAR_VELOCITY = 2 * FLAT_VELOCITY  # MIDI velocity spread: clean >= 21.6 (101 TUNE takes), flat 0
CLEAR_BLUR_MIDI = BLUR_MIDI / 2  # MIDI pedal blur: clean 0-0.36, pedal held >= 0.48
CLEAR_CHORD_MS = CHORD_SPREAD_MS / 2  # chord spread with a score: jittered >= 35 ms (MIDI and audio, TUNE)
CLEAR_ONSET_MS = 25.0  # median bar onset deviation from the local beat: jittered >= 33 ms (TUNE)
# timing without a score: note pairs a chord's width apart in pitch that start together or nearly.
# (together under, near miss up to) in s: basic-pitch's 11.6-ms frames and the later attack it hears in soft
# notes push a chord's natural 20-30 ms spread past 30 ms, so its band starts later (chosen on TUNE)
MIDI_BAND = (0.03, 0.08)
AUDIO_BAND = (0.04, 0.09)
MIN_PAIRS = 16  # fewer together + apart pairs: no measure
MIN_TOGETHER = 4  # fewer pairs struck together: nothing to call "together", no measure (TUNE: no take lost)
OVERTONE_STEPS = frozenset({12, 19, 24, 28, 31, 34, 36})  # a transcriber's overtones start with their note
UNORDERED_MIDI = 0.5  # unordered near misses per pair together: clean 3/80, jittered 80/80 (TUNE)
UNORDERED_AUDIO = 0.4  # basic-pitch notes: clean 5/80, jittered 76/80; other faults' renders 5/63 (TUNE)


@dataclass(frozen=True)
class Measure:
    """One measured value over a time range and what it means."""

    dimension: str
    value: float
    severity: float
    reason: str
    start_s: float
    end_s: float


def is_signal_spot(spot: Spot) -> bool:
    return spot.reason.startswith(MEASURED)


def _severity(excess: float) -> float:
    """``excess``: how far past the threshold, as a share of the threshold's distance from "clean" (0 at the
    threshold, 1 at twice as far)."""
    return float(np.clip(SEVERITY_AT_THRESHOLD + 0.4 * excess, SEVERITY_AT_THRESHOLD, 1.0))


# ---------------------------------------------------------------- pedal blur


def _clash_share(sounding: np.ndarray, struck_recently: np.ndarray) -> float:
    """Share of frames (frames x 88 keys masks; only frames where something sounds) in which a pitch class that
    sounds but was not struck recently lies a step from one that was: old harmony ringing into new."""
    hits = frames = 0
    for snd, rec in zip(sounding, struck_recently, strict=True):
        if not snd.any():
            continue
        frames += 1
        carried = set(np.nonzero(snd & ~rec)[0] % 12) - set(np.nonzero(rec)[0] % 12)
        now = set(np.nonzero(rec)[0] % 12)
        hits += any((a - b) % 12 in CLASH for a in carried for b in now)
    return hits / frames if frames else 0.0


def _pedal_offsets(notes: Notes) -> np.ndarray:
    """When each note stops sounding: its key release, or under the sustain pedal the pedal's release (at most
    ``DECAY_S`` after the key's)."""
    off = notes.offset.copy()
    for i, release in enumerate(notes.offset):
        for down, up in notes.pedal:
            if down <= release < up:
                off[i] = min(up, release + DECAY_S)
                break
    return off


def _note_masks(notes: Notes, offsets: np.ndarray, start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
    grid = np.arange(start, end, STEP)
    sounding = np.zeros((grid.size, 88), dtype=bool)
    recent = np.zeros((grid.size, 88), dtype=bool)
    for on, off, pitch in zip(notes.onset, offsets, notes.pitch, strict=True):
        key = int(pitch) - 21
        if not 0 <= key < 88:
            continue
        sounding[(grid >= on) & (grid < off), key] = True
        recent[(grid >= on) & (grid < on + RECENT_S), key] = True
    return sounding, recent & sounding


def blur_from_notes(notes: Notes, start: float = 0.0, end: float | None = None) -> float:
    """Pedal blur of a MIDI performance between ``start`` and ``end`` (seconds)."""
    if notes.onset.size == 0:
        return 0.0
    end = float(notes.offset.max()) if end is None else end
    return _clash_share(*_note_masks(notes, _pedal_offsets(notes), start, end))


def blur_from_posteriors(post: Posteriorgram, start: float = 0.0, end: float | None = None) -> float:
    """Pedal blur of an audio recording from basic-pitch's posteriors between ``start`` and ``end``."""
    times = post.times
    if times.size < 2:
        return 0.0
    sounding = np.asarray(post.note, dtype=np.float32) > SOUNDING
    struck = np.asarray(post.onset, dtype=np.float32) > STRUCK
    k = max(1, int(round(RECENT_S / float(times[1] - times[0]))))
    # struck within the last k frames: a running maximum over the onset mask
    recent = np.zeros_like(struck)
    last = np.full(struck.shape[1], -(10**9))
    for t in range(struck.shape[0]):
        last[struck[t]] = t
        recent[t] = t - last <= k
    sel = _frames_between(times, start, end)
    return _clash_share(sounding[sel], recent[sel] & sounding[sel])


def _frames_between(times: np.ndarray, start: float, end: float | None) -> np.ndarray:
    """Mask of the posterior frames from ``start`` to ``end`` (None: to the last frame)."""
    return (times >= start) & (times < (times[-1] + 1 if end is None else end))


def crowding_from_posteriors(post: Posteriorgram, start: float = 0.0, end: float | None = None) -> float:
    """Share of the sounding time (basic-pitch's note posteriors) in which ``CROWDED_PITCH_CLASSES`` or more
    pitch classes sound at once: harmonies piling up under a held pedal even where no old note lies a step
    from a new one (broken chords a third apart), which ``blur_from_posteriors`` cannot see."""
    times = post.times
    if times.size == 0:
        return 0.0
    sounding = np.asarray(post.note, dtype=np.float32)[_frames_between(times, start, end)] > SOUNDING
    frames = sounding.any(axis=1)
    if not frames.any():
        return 0.0
    classes = np.zeros((sounding.shape[0], 12), dtype=bool)
    for pc in range(12):
        classes[:, pc] = sounding[:, pc::12].any(axis=1)  # key 0 is A0; any fixed offset names the same sets
    return float(np.mean(classes[frames].sum(axis=1) >= CROWDED_PITCH_CLASSES))


def _longest_pedal(notes: Notes) -> float:
    return max((up - down for down, up in notes.pedal), default=0.0)


# ---------------------------------------------------------------- velocities (MIDI)


def velocity_spread(notes: Notes) -> float | None:
    """10th to 90th percentile of the key velocities; None with fewer than ``MIN_NOTES`` notes."""
    if notes.velocity.size < MIN_NOTES:
        return None
    p10, p90 = np.percentile(notes.velocity, [10, 90])
    return float(p90 - p10)


def chords(onset: np.ndarray) -> list[np.ndarray]:
    """Index groups of notes whose onsets lie within ``CHORD_S`` of the group's first."""
    order = np.argsort(onset, kind="stable")
    groups: list[list[int]] = []
    for i in order:
        if groups and onset[i] - onset[groups[-1][0]] < CHORD_S:
            groups[-1].append(int(i))
        else:
            groups.append([int(i)])
    return [np.asarray(g) for g in groups]


def _near_pairs(notes: Notes, within_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(onset gap, does the later note lie higher?) of every pair of notes that start less than ``within_s``
    apart, at least 3 semitones apart in pitch (not a trill or a scale) and not an overtone's interval."""
    order = np.argsort(notes.onset, kind="stable")
    onset, pitch = notes.onset[order], notes.pitch[order].astype(np.int64)
    gaps: list[np.ndarray] = []
    rising: list[np.ndarray] = []
    for k in range(1, onset.size):  # the k-th next note; gaps grow with k, so stop once none is close
        gap = onset[k:] - onset[:-k]
        if not np.any(gap < within_s):
            break
        step = pitch[k:] - pitch[:-k]
        size = np.abs(step)
        keep = (gap < within_s) & (size >= 3) & ~np.isin(size, list(OVERTONE_STEPS))
        gaps.append(gap[keep])
        rising.append(step[keep] > 0)
    if not gaps:
        return np.zeros(0), np.zeros(0, dtype=bool)
    return np.concatenate(gaps), np.concatenate(rising)


def unordered_near_misses(
    notes: Notes, band: tuple[float, float] = MIDI_BAND
) -> tuple[float, int, int] | None:
    """(unordered near misses per pair struck together, pairs apart, pairs together) of ``_near_pairs``:
    a pair is together under ``band[0]``, a near miss from there to ``band[1]``. A deliberate roll or a
    melody played ahead goes one way, so only twice the rarer direction of the near misses counts (random
    misses go either way). None with fewer than ``MIN_PAIRS`` pairs or ``MIN_TOGETHER`` together.

    Not told apart without a score: a polyrhythm (3 against 4) or tremolos and broken chords whose notes
    fall 30-80 ms apart in both directions read as unsteady hands."""
    gaps, rising = _near_pairs(notes, band[1])
    together = int(np.sum(gaps < band[0]))
    apart = gaps >= band[0]
    if together + int(apart.sum()) < MIN_PAIRS or together < MIN_TOGETHER:
        return None
    unordered = 2 * min(int(np.sum(apart & rising)), int(np.sum(apart & ~rising)))
    return unordered / together, int(apart.sum()), together


def melody_margin(notes: Notes) -> tuple[float, int, int] | None:
    """(median velocity of each chord's top note minus the mean of the notes under it, chords where the top is
    softer, chords) over chords of two or more notes whose top note is at or above middle C; None with fewer
    than ``MIN_CHORDS`` such chords."""
    margins = []
    for g in chords(notes.onset):
        if g.size < 2:
            continue
        g = g[np.argsort(-notes.pitch[g], kind="stable")]
        if notes.pitch[g[0]] < 60:
            continue
        margins.append(float(notes.velocity[g[0]] - notes.velocity[g[1:]].mean()))
    if len(margins) < MIN_CHORDS:
        return None
    return float(np.median(margins)), int(sum(m < 0 for m in margins)), len(margins)


# ---------------------------------------------------------------- note levels (audio)


def key_levels(audio: np.ndarray, sr: int, notes: Notes) -> np.ndarray:
    """The level (dB) each transcribed note adds at its key's constant-Q bin: the peak power within
    ``ATTACK_S`` of the onset minus what was sounding just before (so a ringing earlier note does not count);
    NaN where the note adds less than half again what was there (a re-detection, an overtone)."""
    import librosa

    power = (
        np.abs(
            librosa.cqt(
                np.asarray(audio, dtype=np.float32),
                sr=sr,
                hop_length=CQT_HOP,
                fmin=27.5,
                n_bins=88,
                bins_per_octave=12,
            )
        )
        + 1e-6
    ) ** 2
    frame = (notes.onset * sr / CQT_HOP).astype(int)
    after_n = int(ATTACK_S * sr / CQT_HOP)
    before_n = int(BEFORE_S * sr / CQT_HOP)
    out = np.full(notes.onset.size, np.nan)
    for i, (f, pitch) in enumerate(zip(frame, notes.pitch.astype(int), strict=True)):
        key = pitch - 21
        if not 0 <= key < 88 or f >= power.shape[1]:
            continue
        before = float(power[key, max(0, f - before_n) : max(1, f - 1)].mean()) if f > 1 else 0.0
        after = float(power[key, f : f + after_n + 1].max())
        if after > 1.5 * before:
            out[i] = 10 * np.log10(after - before)
    return out


def level_spread(levels: np.ndarray, notes: Notes, mask: np.ndarray | None = None) -> float | None:
    """How much the same key's loudness changes from one stroke to the next: the 75th percentile of
    |level - that key's median level| (dB) over the clearly transcribed notes (amplitude at least the median),
    None with fewer than ``MIN_REPEATS`` strokes of repeated keys. All notes at one velocity give under ~1.5 dB (what
    is left is the sound's own variation), a player's dynamics 1.7-5.4 dB on TUNE."""
    if levels.size == 0:
        return None
    keep = np.isfinite(levels) & (notes.velocity >= np.median(notes.velocity))
    if mask is not None:
        keep &= mask
    deviations: list[float] = []
    for pitch in np.unique(notes.pitch[keep]):
        same = levels[keep & (notes.pitch == pitch)]
        if same.size >= 2:
            deviations += list(np.abs(same - np.median(same)))
    if len(deviations) < MIN_REPEATS:
        return None
    return float(np.percentile(deviations, 75))


# ---------------------------------------------------------------- timing (with a score)


def chord_spreads(
    played: Notes, score_onsets: np.ndarray, pairs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(onset spread in seconds, performance time) of each notated chord with two or more notes played:
    ``pairs`` = (played index, score index) of correctly played notes, ``score_onsets`` the score notes'
    onsets."""
    if pairs.size == 0:
        return np.zeros(0), np.zeros(0)
    event = np.round(score_onsets[pairs[:, 1]] * 1000).astype(np.int64)
    spreads, times = [], []
    for e in np.unique(event):
        on = played.onset[pairs[event == e, 0]]
        if on.size >= 2:
            spreads.append(float(np.ptp(on)))
            times.append(float(on.min()))
    return np.asarray(spreads), np.asarray(times)


def notated_chord_spreads(result: NoteAssessment) -> tuple[np.ndarray, np.ndarray]:
    """``chord_spreads`` over every pass of a note assessment (its pairs index ``result.performance`` and
    ``result.score_notes``)."""
    if result.performance is None or result.score_notes is None:
        return np.zeros(0), np.zeros(0)
    onsets = result.score_notes.onset
    parts = [chord_spreads(result.performance, onsets, r.match.pairs) for r in result.details]
    if not parts:
        return np.zeros(0), np.zeros(0)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def notated_top_voice(result: NoteAssessment, posteriors: Posteriorgram) -> tuple[np.ndarray, np.ndarray]:
    """(margin, performance time) of each notated chord of two or more notes whose top note is at or above
    middle C: how much more clearly the transcriber hears the top note struck than the notes under it (its
    onset posterior minus their median, at the time the score-to-performance map puts the chord). A melody
    buried under the accompaniment is barely heard (clean renders: about 0, melody 30 steps softer and the
    accompaniment 40 louder: -0.3 to -0.6 on TUNE)."""
    notes = result.score_notes
    margins: list[float] = []
    times: list[float] = []
    if notes is None:
        return np.zeros(0), np.zeros(0)
    for r in result.details:
        idx = np.arange(r.span.s_start, r.span.s_end)
        event = np.round(notes.onset[idx] * 1000).astype(np.int64)
        for e in np.unique(event):
            chord = idx[event == e]
            if chord.size < 2:
                continue
            chord = chord[np.argsort(-notes.pitch[chord], kind="stable")]
            if notes.pitch[chord[0]] < 60:
                continue
            t = float(r.match.to_performance_time(np.array([notes.onset[chord[0]]]))[0])
            top = posteriors.peak("onset", t, int(notes.pitch[chord[0]]), TOP_VOICE_WINDOW_S)
            under = [posteriors.peak("onset", t, int(notes.pitch[j]), TOP_VOICE_WINDOW_S) for j in chord[1:]]
            margins.append(top - float(np.median(under)))
            times.append(t)
    return np.asarray(margins), np.asarray(times)


# ---------------------------------------------------------------- spots


def _windows_over(
    spans: Sequence[tuple[float, float]], local: Sequence[float | None], threshold: float, above: bool
) -> tuple[float, float]:
    """The time range of the windows whose own measure passes ``threshold`` (the whole recording when none
    does on its own: the evidence is the whole take's)."""
    hit = [
        s
        for s, v in zip(spans, local, strict=True)
        if v is not None and (v >= threshold if above else v <= threshold)
    ]
    chosen = hit or list(spans)
    return chosen[0][0], chosen[-1][1]


def pedal_measure(
    spans: Sequence[tuple[float, float]], notes: Notes | None, posteriors: Posteriorgram | None
) -> Measure | None:
    if notes is not None:
        if notes.onset.size < MIN_NOTES:
            return None
        value, threshold = blur_from_notes(notes), BLUR_MIDI
        local = [blur_from_notes(notes, a, b) for a, b in spans]
        longest = _longest_pedal(notes)
        held = f"; the pedal stays down up to {longest:.0f} s without a change" if longest >= 4 else ""
    elif posteriors is not None:
        value, threshold = blur_from_posteriors(posteriors), BLUR_AUDIO
        if value < threshold:
            return _crowded_measure(spans, posteriors)
        local = [blur_from_posteriors(posteriors, a, b) for a, b in spans]
        held = ""
    else:
        return None
    if value < threshold:
        return None
    return _past(
        "pedal_clarity",
        spans,
        value,
        local,
        threshold,
        f"in {value:.0%} of the time, notes struck over a second earlier still ring against new notes a step "
        f"away: the harmonies blur into each other{held}. Change the pedal with the harmony",
    )


def _crowded_measure(spans: Sequence[tuple[float, float]], posteriors: Posteriorgram) -> Measure | None:
    """Audio: the pedal spot from ``crowding_from_posteriors`` when the step clashes do not show it."""
    crowded = crowding_from_posteriors(posteriors)
    if crowded < CROWDED_AUDIO:
        return None
    return _past(
        "pedal_clarity",
        spans,
        crowded,
        [crowding_from_posteriors(posteriors, a, b) for a, b in spans],
        CROWDED_AUDIO,
        f"in {crowded:.0%} of the time, {CROWDED_PITCH_CLASSES} or more different note names (each octave "
        "counted once) ring together: more than one harmony sounds at once. Change the pedal with the harmony",
    )


def _past(
    dimension: str,
    spans: Sequence[tuple[float, float]],
    value: float,
    local: Sequence[float | None],
    threshold: float,
    reason: str,
    *,
    above: bool = True,
) -> Measure:
    """A measure past ``threshold`` (``above``: higher is worse, else lower), over the windows whose own
    value is past it too; severity from how far past, as a share of the threshold."""
    start, end = _windows_over(spans, local, threshold, above=above)
    excess = (value - threshold) if above else (threshold - value)
    return Measure(dimension, value, _severity(excess / abs(threshold)), MEASURED + reason, start, end)


def dynamics_measure(
    spans: Sequence[tuple[float, float]],
    notes: Notes | None,
    audio: tuple[np.ndarray, int, Notes] | None = None,
) -> Measure | None:
    if notes is None and audio is not None:
        return _audio_dynamics(spans, *audio)
    spread = velocity_spread(notes) if notes is not None else None
    if notes is None or spread is None or spread >= FLAT_VELOCITY:
        return None
    local = [velocity_spread(notes.window(a, b)) for a, b in spans]
    # plain words: "the middle 80% of your notes" was read by the 1.5B model as an instruction to play them
    reason = (
        f"almost no difference between your loud and soft notes: nearly all are within {spread:.0f} of the "
        "keyboard's 127 loudness steps of each other"
    )
    return _past("dynamic_range", spans, spread, local, FLAT_VELOCITY, reason, above=False)


def _audio_dynamics(
    spans: Sequence[tuple[float, float]], audio: np.ndarray, sr: int, notes: Notes
) -> Measure | None:
    if notes.onset.size < MIN_NOTES:
        return None
    levels = key_levels(audio, sr, notes)
    spread = level_spread(levels, notes)
    if spread is None or spread >= FLAT_LEVEL_DB:
        return None
    local = [level_spread(levels, notes, (notes.onset >= a) & (notes.onset < b)) for a, b in spans]
    reason = (
        f"almost no change in loudness from note to note: three notes in four sound within {spread:.1f} dB "
        "of the same key's usual level"
    )
    return _past("dynamic_range", spans, spread, local, FLAT_LEVEL_DB, reason, above=False)


def _audio_balance(margins: np.ndarray, times: np.ndarray) -> Measure | None:
    if margins.size < MIN_CHORDS:
        return None
    margin = float(np.median(margins))
    if margin > TOP_VOICE_MARGIN:
        return None
    weak = times[margins <= TOP_VOICE_MARGIN]
    return Measure(
        "balance",
        margin,
        _severity((TOP_VOICE_MARGIN - margin) / abs(TOP_VOICE_MARGIN) / 3),
        f"{MEASURED}the melody is buried under the accompaniment: in {weak.size} of {margins.size} chords of "
        "the score the top note comes through much weaker than the notes under it",
        float(weak.min()),
        float(weak.max()),
    )


def balance_measure(
    spans: Sequence[tuple[float, float]],
    notes: Notes | None,
    top_voice: tuple[np.ndarray, np.ndarray] | None = None,
) -> Measure | None:
    if notes is None and top_voice is not None:
        return _audio_balance(*top_voice)
    found = melody_margin(notes) if notes is not None else None
    if notes is None or found is None or found[0] > BALANCE_VELOCITY:
        return None
    margin, softer, total = found
    local = [(m[0] if (m := melody_margin(notes.window(a, b))) else None) for a, b in spans]
    start, end = _windows_over(spans, local, BALANCE_VELOCITY, above=False)
    return Measure(
        "balance",
        margin,
        _severity((BALANCE_VELOCITY - margin) / abs(BALANCE_VELOCITY)),
        f"{MEASURED}the accompaniment is louder than the melody: in {softer} of {total} chords the top note "
        f"is softer than the notes under it, by {-margin:.0f} velocity steps (median)",
        start,
        end,
    )


def timing_measure(
    spreads: np.ndarray, times: np.ndarray, bars: Sequence[BarReport] | None
) -> Measure | None:
    if spreads.size < MIN_CHORDS:
        return None
    median_ms = float(np.median(spreads)) * 1000
    if median_ms < CHORD_SPREAD_MS:
        return None
    wide = times[spreads * 1000 >= CHORD_SPREAD_MS]
    devs = [b.onset_dev_ms for b in bars or [] if b.onset_dev_ms is not None]
    wander = f", and onsets wander ~{np.median(devs):.0f} ms from a steady local beat" if devs else ""
    return Measure(
        "timing_stability",
        median_ms,
        _severity((median_ms - CHORD_SPREAD_MS) / CHORD_SPREAD_MS),
        f"{MEASURED}notes written to sound together (chords, both hands) start {median_ms:.0f} ms apart "
        f"(median over {spreads.size} chords){wander}",
        float(wide.min()) if wide.size else float(times.min()),
        float(wide.max()) if wide.size else float(times.max()),
    )


def unordered_timing_measure(
    spans: Sequence[tuple[float, float]], notes: Notes | None, heard: Notes | None
) -> Measure | None:
    """Timing without a score: ``unordered_near_misses`` of a MIDI input's notes or, failing those, of
    basic-pitch's notes of an audio input (coarser onsets: its own band and threshold, chosen on TUNE)."""
    if notes is not None:
        played, band, threshold = notes, MIDI_BAND, UNORDERED_MIDI
    elif heard is not None:
        played, band, threshold = heard, AUDIO_BAND, UNORDERED_AUDIO
    else:
        return None
    found = unordered_near_misses(played, band)
    if found is None or found[0] < threshold:
        return None
    value, apart, together = found
    local = [(m[0] if (m := unordered_near_misses(played.window(a, b), band)) else None) for a, b in spans]
    return _past(
        "timing_stability",
        spans,
        value,
        local,
        threshold,
        "notes that belong together (chords, both hands) often start a few hundredths of a second apart "
        f"({band[0] * 1000:.0f}-{band[1] * 1000:.0f} ms), and in no steady order: {apart} such near misses "
        f"between two notes against {together} that land together. A deliberate roll goes the same way each "
        "time; these come early or late at random. Practise slowly, placing each chord as one",
    )


def signal_spots(
    spans: Sequence[tuple[float, float]],
    *,
    notes: Notes | None = None,
    posteriors: Posteriorgram | None = None,
    audio: tuple[np.ndarray, int, Notes] | None = None,
    chord_spread: tuple[np.ndarray, np.ndarray] | None = None,
    top_voice: tuple[np.ndarray, np.ndarray] | None = None,
    bar_reports: Sequence[BarReport] | None = None,
    bar_times: Sequence[float] | None = None,
) -> list[Spot]:
    """Measured weak spots. ``notes``: a MIDI input's own notes and pedal (None for audio); ``posteriors``:
    basic-pitch's posteriors of an audio input; ``audio``: (samples, rate, basic-pitch notes) of an audio
    input; ``chord_spread``: ``chord_spreads`` of the notes matched to a
    followed score; ``top_voice``: ``notated_top_voice`` of an audio input with a followed score; ``bar_reports`` its bars (their onset deviation); ``bar_times``: bar start times."""
    measures = [
        pedal_measure(spans, notes, posteriors),
        dynamics_measure(spans, notes, audio),
        balance_measure(spans, notes, top_voice),
        timing_measure(*chord_spread, bar_reports)
        if chord_spread is not None
        else unordered_timing_measure(spans, notes, None if audio is None else audio[2]),
    ]
    return [
        Spot(
            dimension=m.dimension,
            start_s=round(m.start_s, 2),
            end_s=round(m.end_s, 2),
            score=round(m.value, 4),
            severity=round(m.severity, 3),
            reason=m.reason,
            bars=bars_over(bar_times, m.start_s, m.end_s),
        )
        for m in measures
        if m is not None
    ]


@dataclass(frozen=True)
class Evidence:
    """What Cadenza measured exactly enough to contradict the perceptual model: a MIDI input's own notes
    (velocities and CC64 are exact), and with a followed score the notated chords' onset spreads (seconds,
    performance times) and the bars (their onset deviation from the local beat)."""

    notes: Notes | None = None
    chord_spread: tuple[np.ndarray, np.ndarray] | None = None
    bar_reports: Sequence[BarReport] | None = None


def _steady(evidence: Evidence, start: float, end: float) -> bool:
    """Chords together and onsets on a steady local beat between ``start`` and ``end``: both aspects of
    "unstable timing" measured and clearly normal (chord spread alone says nothing of the beat)."""
    if evidence.chord_spread is None or not evidence.bar_reports:
        return False
    spreads, times = evidence.chord_spread
    here = spreads[(times >= start) & (times < end)]
    devs = [
        b.onset_dev_ms
        for b in evidence.bar_reports
        if b.onset_dev_ms is not None and b.start_s < end and b.end_s > start
    ]
    return (
        here.size >= MIN_CHORDS
        and len(devs) >= 2
        and float(np.median(here)) * 1000 <= CLEAR_CHORD_MS
        and float(np.median(devs)) <= CLEAR_ONSET_MS
    )


def contradicted(spot: Spot, evidence: Evidence) -> bool:
    """Whether a perceptual weak spot is contradicted by a clearly normal measure over its own time range (a
    quality spot always leans to the undesirable pole: little range, blurred, unstable). Balance is not
    judged: a clearly singing melody would not contradict "disproportioned" (the melody may be too loud)."""
    notes, a, b = evidence.notes, spot.start_s, spot.end_s
    if spot.dimension == "dynamic_range" and notes is not None:
        spread = velocity_spread(notes.window(a, b))
        return spread is not None and spread >= CLEAR_VELOCITY
    if spot.dimension == "pedal_clarity" and notes is not None:
        return notes.window(a, b).onset.size >= MIN_NOTES and blur_from_notes(notes, a, b) <= CLEAR_BLUR_MIDI
    if spot.dimension == "timing_stability":
        return _steady(evidence, a, b)
    return False


def merge_signal_spots(
    weak: Sequence[Spot], measured: Sequence[Spot], evidence: Evidence | None = None, top_n: int | None = None
) -> list[Spot]:
    """The weak spots with the measured ones in: a measured spot replaces the perceptual spots of its
    dimension (one problem, one spot, with the evidence), and a perceptual spot that ``evidence`` contradicts
    is dropped (the student is not told of a problem the measurement says is not there); ranked by severity and
    cut to ``top_n`` like the other spot lists."""
    dims = {s.dimension for s in measured}
    merged = [
        s
        for s in weak
        if s.dimension not in dims
        and not is_signal_spot(s)
        and not (evidence is not None and contradicted(s, evidence))
    ] + list(measured)
    merged.sort(key=lambda s: (-s.severity, s.start_s, s.dimension))
    return merged[:top_n]
