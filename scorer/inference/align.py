"""Performance-to-score alignment: which played note is which notated note, and when each bar starts.

Why: without the score, a long note and a late note look the same (both are a long inter-onset interval);
against the notation, timing deviation, tempo, articulation and wrong notes become measurable. This is the
cue PercePiano's symbolic models read, and what turns weak-spot seconds into bar numbers.

Method: onsets within 35 ms form events on both sides; events are compared by their pitch content (pitch
and pitch class, so an octave slip still matches roughly); dynamic time warping over the event sequences
(librosa) gives a monotone event path; along it, notes of the same pitch are paired, each score note once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scorer.errors import RecordingError
from scorer.inference.features import Notes
from scorer.pitch_names import C_MAJOR, Key

EVENT_GAP_S = 0.035
# DTW keeps two (performance events x score events) matrices: 25M cells is ~400 MB, about 10 minutes of
# dense piano writing on both sides. Longer pairs are refused rather than swapping the machine.
MAX_DTW_CELLS = 25_000_000


class AlignmentTooLong(RecordingError):
    """The recording and the score have too many note events between them to align (MAX_DTW_CELLS)."""


@dataclass(frozen=True)
class Alignment:
    """Pairs of (performance note index, score note index), sorted by performance onset, plus the event
    anchors (performance seconds, score seconds) that map one time axis onto the other."""

    perf_notes: np.ndarray
    score_notes: np.ndarray
    anchor_perf_s: np.ndarray
    anchor_score_s: np.ndarray

    def to_performance_time(self, score_s: np.ndarray) -> np.ndarray:
        """Score seconds -> performance seconds (piecewise linear between anchors, clamped at the ends)."""
        if self.anchor_perf_s.size < 2:
            return np.asarray(score_s, dtype=np.float64) + (
                self.anchor_perf_s[0] - self.anchor_score_s[0] if self.anchor_perf_s.size else 0.0
            )
        return np.interp(score_s, self.anchor_score_s, self.anchor_perf_s)


@dataclass(frozen=True)
class NotatedScore:
    """A score: its notes (score seconds) and the start of every bar, plus what the note-level assessment
    reads (``scorer.inference.score_input`` fills them; a bare ``NotatedScore(notes, downbeats)`` numbers
    bars 1, 2, ... in 4/4 with no grace notes, ornaments or dynamics)."""

    notes: Notes
    downbeats: np.ndarray
    bar_numbers: np.ndarray | None = None  # per bar, as printed (a pickup may be 0)
    time_signatures: tuple[tuple[int, int], ...] = ()  # per bar (numerator, denominator)
    grace: np.ndarray | None = None  # per note
    ornament: np.ndarray | None = None  # per note: trill, mordent, turn ... (MusicXML)
    dynamics: tuple[str | None, ...] = ()  # per bar: the marking in effect (MusicXML)
    # per bar: the notation asks for time there (a fermata, inside a rit./rall.) or for more speed (accel.)
    notated_slower: tuple[bool, ...] = ()
    notated_faster: tuple[bool, ...] = ()
    # per bar: which notated tempo it is played in (a new one from each change of tempo)
    tempo_sections: tuple[int, ...] = ()
    pickup_beats: float = 0.0  # beats missing from the first bar (a pickup's beats count from its end)
    end_s: float | None = None  # end of the last bar (default: the last note's end)
    repeats: tuple[tuple[float, float], ...] = ()  # notated repeat spans (score seconds)
    keys: tuple[Key, ...] = ()  # per bar: the key signature in effect (fifths, minor), for note names
    source_format: str = "midi"

    @property
    def n_bars(self) -> int:
        return int(self.downbeats.size)

    @property
    def numbers(self) -> np.ndarray:
        """Printed number of every bar."""
        if self.bar_numbers is not None:
            return self.bar_numbers
        return np.arange(1, self.n_bars + 1)

    def key(self, bar_index: int) -> Key:
        """The key signature in effect in the bar (C major when the score writes none)."""
        return self.keys[bar_index] if bar_index < len(self.keys) else C_MAJOR

    def signature(self, bar_index: int) -> tuple[int, int]:
        return self.time_signatures[bar_index] if self.time_signatures else (4, 4)

    @property
    def bar_ends(self) -> np.ndarray:
        """Score seconds at which every bar ends."""
        last = self.end_s if self.end_s is not None else float(self.notes.offset.max(initial=0.0))
        if self.n_bars >= 2 and self.end_s is None:  # MIDI: the last bar as long as the one before
            last = max(last, float(self.downbeats[-1] + np.diff(self.downbeats)[-1]))
        return np.append(self.downbeats[1:], max(last, float(self.downbeats[-1]) + 1e-3))

    def bar_index(self, score_s: np.ndarray) -> np.ndarray:
        """Index (0-based, not the printed number) of the bar each score time falls in."""
        idx = np.searchsorted(self.downbeats, np.asarray(score_s) + 1e-6, side="right") - 1
        return np.clip(idx, 0, max(self.n_bars - 1, 0))

    def beats_in_bar(self, bar_index: int) -> float:
        """Notated beats the bar holds (a pickup holds fewer)."""
        num, _ = self.signature(bar_index)
        return num - self.pickup_beats if bar_index == 0 else float(num)

    def seconds_per_beat(self, bar_index: int) -> float:
        """Score seconds per beat of the bar's time signature."""
        length = float(self.bar_ends[bar_index] - self.downbeats[bar_index])
        return length / max(self.beats_in_bar(bar_index), 1e-6)

    def beat_of(self, score_s: np.ndarray) -> np.ndarray:
        """Beat (from 1, in the bar's time signature) of every score time."""
        t = np.asarray(score_s, dtype=np.float64)
        idx = self.bar_index(t)
        spb = np.array([self.seconds_per_beat(int(i)) for i in range(self.n_bars)])
        beat = (t - self.downbeats[idx]) / spb[idx] + 1.0
        return np.round(np.where(idx == 0, beat + self.pickup_beats, beat), 6)


def load_score(path: Path, name: str | None = None) -> NotatedScore:
    """Read a score file: MIDI, MusicXML or .mxl (``score_input.load_score_file``); one-line RecordingError
    when it is none, is unsafe, has no notes or no bars. ``name`` is what messages call the file (default:
    its file name)."""
    from scorer.inference.score_input import load_score_file

    return load_score_file(Path(path), name)


# Below this share of the played notes paired with the score, the recording is taken not to follow it (another
# piece, or a transcription with nothing usable): score-aware predictions fall back to the plain ones.
MIN_ALIGNED_SHARE = 0.2


@dataclass(frozen=True)
class ScoreAlignment:
    """A notated score's notes, the performance's (true or transcribed) notes and their alignment."""

    score: Notes
    played: Notes
    alignment: Alignment

    @property
    def matched_share(self) -> float:
        """Share of the played notes paired with a score note."""
        n = len(self.played.onset)
        return len(self.alignment.perf_notes) / n if n else 0.0

    @property
    def usable(self) -> bool:
        n = len(self.played.onset)
        return n > 0 and len(self.alignment.perf_notes) >= max(8, MIN_ALIGNED_SHARE * n)


def bar_starts(performance: Notes, score: NotatedScore, alignment: Alignment | None = None) -> list[float]:
    """Performance seconds at which each notated bar starts, through the alignment (computed unless given).
    Bars outside the aligned range (a recording of an excerpt) are extrapolated at the performance's overall
    tempo, so every bar keeps its number in the score (times may fall before 0 or after the end). Empty when
    nothing aligns."""
    alignment = alignment if alignment is not None else align(performance, score.notes)
    s_anchor, p_anchor = alignment.anchor_score_s, alignment.anchor_perf_s
    if s_anchor.size < 2:
        return []
    slope = float(np.polyfit(s_anchor, p_anchor, 1)[0]) if np.ptp(s_anchor) > 0 else 1.0
    slope = slope if slope > 0 else 1.0
    times = alignment.to_performance_time(score.downbeats)
    before, after = score.downbeats < s_anchor[0], score.downbeats > s_anchor[-1]
    times[before] = p_anchor[0] - (s_anchor[0] - score.downbeats[before]) * slope
    times[after] = p_anchor[-1] + (score.downbeats[after] - s_anchor[-1]) * slope
    out: list[float] = []
    for t in times:  # strictly increasing, as bar numbering needs (two bars on one anchor: keep the first)
        out.append(round(float(t), 3) if not out or t > out[-1] else out[-1] + 1e-3)
    return out


def events(onset: np.ndarray, gap: float = EVENT_GAP_S) -> np.ndarray:
    """Event number of every note (notes sorted by onset): a new event after a gap over ``gap``."""
    if onset.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([[0], np.cumsum(np.diff(onset) > gap)]).astype(np.int64)


def _event_vectors(pitch: np.ndarray, events: np.ndarray) -> np.ndarray:
    n = int(events[-1]) + 1 if events.size else 0
    vec = np.zeros((n, 128 + 12))
    p = pitch.astype(np.int64).clip(0, 127)
    np.add.at(vec, (events, p), 1.0)
    np.add.at(vec, (events, 128 + p % 12), 0.5)
    return vec / (np.linalg.norm(vec, axis=1, keepdims=True) + 1e-9)


def align(perf: Notes, score: Notes) -> Alignment:
    """Align a performance to its score (both sorted by onset, as `notes_from_midi` returns them)."""
    import librosa

    pe, se = events(perf.onset), events(score.onset)
    if pe.size == 0 or se.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Alignment(empty, empty, np.zeros(0), np.zeros(0))
    if (int(pe[-1]) + 1) * (int(se[-1]) + 1) > MAX_DTW_CELLS:
        raise AlignmentTooLong(
            "recording and score are too long to align (about 10 minutes of notes at most); "
            "give bar times instead"
        )
    cost = 1.0 - _event_vectors(perf.pitch, pe) @ _event_vectors(score.pitch, se).T
    _, path = librosa.sequence.dtw(C=cost, backtrack=True)
    path = path[::-1]
    perf_of_event = [np.flatnonzero(pe == e) for e in range(int(pe[-1]) + 1)]
    score_of_event = [np.flatnonzero(se == e) for e in range(int(se[-1]) + 1)]
    used: set[int] = set()  # score notes already paired
    used_perf: set[int] = set()
    pairs: list[tuple[int, int]] = []
    anchors: dict[
        int, tuple[float, float, float]
    ] = {}  # perf event -> (cost, perf s, score s): the best match
    for i, j in path:
        matched = False
        for p in perf_of_event[i]:
            if p in used_perf:
                continue
            for s in score_of_event[j]:
                if s not in used and score.pitch[s] == perf.pitch[p]:
                    used.add(int(s))
                    used_perf.add(int(p))
                    pairs.append((int(p), int(s)))
                    matched = True
                    break
        if matched and (i not in anchors or cost[i, j] < anchors[i][0]):
            anchors[i] = (
                float(cost[i, j]),
                float(perf.onset[perf_of_event[i]].min()),
                float(score.onset[score_of_event[j]].min()),
            )
    pairs.sort()
    anchor_list = sorted((a[1], a[2]) for a in anchors.values())
    keep: list[tuple[float, float]] = []
    for t, s in anchor_list:  # strictly increasing on both axes, so interpolation is a function
        if not keep or (t > keep[-1][0] and s > keep[-1][1]):
            keep.append((t, s))
    arr = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    anchor = np.array(keep, dtype=np.float64).reshape(-1, 2)
    return Alignment(arr[:, 0], arr[:, 1], anchor[:, 0], anchor[:, 1])


def _rolling_median(x: np.ndarray, k: int) -> np.ndarray:
    if x.size == 0:
        return x
    half = k // 2
    padded = np.pad(x, half, mode="edge")
    return np.array([np.median(padded[i : i + k]) for i in range(x.size)])


def alignment_features(
    perf: Notes, score: Notes, alignment: Alignment, start: float, end: float
) -> dict[str, float]:
    """Score-relative timing, tempo, articulation, dynamics and accuracy of the performed notes whose onsets
    fall in [start, end) seconds. Missing (too few matched notes) features are left out: the heads treat
    them as missing."""
    out: dict[str, float] = {}
    in_span = (perf.onset >= start) & (perf.onset < end)
    n_perf = int(in_span.sum())
    if n_perf == 0:
        return out
    sel = in_span[alignment.perf_notes]
    p_idx, s_idx = alignment.perf_notes[sel], alignment.score_notes[sel]
    out["al_matched_share"] = len(p_idx) / n_perf
    if len(s_idx):
        lo, hi = score.onset[s_idx].min(), score.onset[s_idx].max()
        in_score = int(((score.onset >= lo) & (score.onset <= hi)).sum())
        out["al_score_covered"] = len(s_idx) / max(in_score, 1)
    if len(p_idx) < 6:
        return out
    t, s = perf.onset[p_idx], score.onset[s_idx]
    # one anchor per score event: the earliest played note of it
    order = np.lexsort((t, s))
    t, s = t[order], s[order]
    first = np.concatenate([[True], np.diff(s) > EVENT_GAP_S])
    et, es = t[first], s[first]
    _tempo_features(et, es, out)
    _chord_features(perf, score, p_idx, s_idx, out)
    # articulation: played length against notated length, at the local tempo
    ratio = float(np.exp(out.get("al_log_tempo", 0.0)))
    s_len = score.offset[s_idx] - score.onset[s_idx]
    p_len = perf.offset[p_idx] - perf.onset[p_idx]
    ok = s_len > 0.05
    if ok.sum() >= 4:
        a = np.log(np.clip(p_len[ok], 1e-3, None) / (s_len[ok] * ratio))
        out["al_art_mean"] = float(a.mean())
        out["al_art_std"] = float(a.std())
        out["al_art_short_share"] = float((a < np.log(0.5)).mean())
    # dynamics against the notated ones (scores mark few levels; a flat score gives no correlation)
    pv, sv = perf.velocity[p_idx], score.velocity[s_idx]
    if np.std(sv) > 0 and np.std(pv) > 0:
        out["al_vel_score_corr"] = float(np.corrcoef(pv, sv)[0, 1])
    return out


def _tempo_features(et: np.ndarray, es: np.ndarray, out: dict[str, float]) -> None:
    """Tempo and its stability from the event anchors (played ``et`` against notated ``es`` onsets)."""
    if et.size < 5:
        return
    dt, ds = np.diff(et), np.diff(es)
    ok = (ds > 0.03) & (dt > 0.0)
    r = np.log(dt[ok] / ds[ok])
    if r.size >= 4:
        out["al_log_tempo"] = float(np.median(r))
        out["al_log_tempo_std"] = float(r.std())
        smooth = _rolling_median(r, 7)
        out["al_tempo_jitter"] = float(np.abs(r - smooth).mean())
        out["al_tempo_curve_std"] = float(smooth.std())
        out["al_tempo_trend"] = float(np.polyfit(np.arange(r.size), r, 1)[0] * r.size)
    # onset deviation from a locally linear score->performance map (ms-level unevenness)
    k = 4
    dev = []
    for i in range(es.size):
        a, b = max(0, i - k), min(es.size, i + k + 1)
        if b - a >= 4 and np.ptp(es[a:b]) > 0:
            slope, icept = np.polyfit(es[a:b], et[a:b], 1)
            dev.append(et[i] - (slope * es[i] + icept))
    if dev:
        d = np.abs(np.array(dev))
        out["al_onset_dev_mean"] = float(d.mean())
        out["al_onset_dev_p90"] = float(np.percentile(d, 90))


def _chord_features(
    perf: Notes, score: Notes, p_idx: np.ndarray, s_idx: np.ndarray, out: dict[str, float]
) -> None:
    """Chord asynchrony against the notated chords, and the melody lead (top note early)."""
    lead = []
    spread = []
    notated_onset = np.round(score.onset[s_idx], 3)
    for value in np.unique(notated_onset):
        members = np.flatnonzero(notated_onset == value)
        if members.size >= 2:
            on = perf.onset[p_idx[members]]
            spread.append(np.ptp(on))
            top = members[np.argmax(perf.pitch[p_idx[members]])]
            lead.append(on.mean() - perf.onset[p_idx[top]])
    if spread:
        out["al_chord_spread"] = float(np.mean(spread))
        out["al_melody_lead"] = float(np.mean(lead))
