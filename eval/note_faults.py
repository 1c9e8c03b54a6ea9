"""Known errors injected into real performances: the ground truth of eval.bench_notes (issue 17).

A PercePiano performance MIDI is aligned to its passage's score MIDI (scorer.inference.align, on the
untouched performance), so every played note that follows the score knows its score note and bar. Then one
kind of fault is injected at chosen places (seeded by the performance key and the kind, so a rerun is
identical), and the truth records what was injected and where:

- ``wrong``: pitch substitutions of a matched note by +-1, +-2 semitones or an octave (cycled), onto a pitch
  that no other note near it plays or the score holds near it (so the substitution cannot be read as
  another score note);
- ``missed``: a matched note deleted (one whose pitch the score does not repeat within 0.3 s);
- ``extra``: a note inserted a little after a matched note (+-1 or 2 semitones from it, a pitch absent
  from the score and the performance nearby; at most 40% of the way to the next event), in that note's bar;
- ``rushed`` / ``dragged``: one inner bar played 20% faster / slower (the notes and pedal inside it
  compressed or stretched, everything after it shifted), chosen among the bars the performer played
  steadily (within 5% of the neighbours' tempo): a bar the performer already dragged, played 20% faster,
  is merely in time again;
- ``uneven``: in one bar with at least two chords (3+ notes the score sounds together), every chord rolled
  from the bottom up, ``ROLL_S`` between notes (onsets only: the bar's tempo is kept);
- ``restart``: the performer plays to the end of bar b, stops 0.4 s, and restarts at bar b-1 (two bars
  replayed); expected: one restart, two passes, and no note errors;
- ``start_middle``: the performance starts at the middle bar; expected: bars covered from there, and no
  missed notes for the bars never played;
- ``mixed``: two wrong notes, one missed and one extra note, in different bars.

Every variant keeps a time map (pieces ``[orig_start, orig_end, new_start, scale]``) from the original's
performance time to the variant's, so an error the detector reports on the untouched performance (the
performer's own slip, or a detector error) can be recognised in the variant and left out of the counts.
Bars are numbered from 1 at the score MIDI's first downbeat.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scorer.inference.features import Notes

KINDS = ("wrong", "missed", "extra", "rushed", "dragged", "uneven", "restart", "start_middle", "mixed")
NOTE_KINDS = ("wrong", "missed", "extra")
DELTAS = (1, -1, 2, -2, 12, -12)
TEMPO_FACTOR = 1.2  # a bar played 20% faster (tempo x 1.2) or slower (x 1/1.2)
STEADY = 1.05  # ... chosen among bars the performer played within 5% of the neighbouring bars' tempo
ROLL_S = 0.03  # an uneven bar: each chord rolled upwards, 30 ms between its notes (a triad spans 60 ms)
PER_VARIANT = 3  # note errors injected per single-kind variant
RESTART_GAP_S = 0.4
FAR = 1e9


@dataclass
class Truth:
    """What was injected into one variant of one performance (JSON-ready)."""

    key: str
    kind: str  # "original" or one of KINDS
    errors: list[dict[str, Any]] = field(default_factory=list)  # NoteError-shaped: type, bar, time_s, pitches
    tempo_bars: list[dict[str, Any]] = field(default_factory=list)  # {bar, kind: rushed|dragged|uneven}
    restarts: int = 0
    bars_covered: list[int] | None = None
    time_map: list[list[float]] = field(default_factory=lambda: [[-FAR, FAR, -FAR, 1.0]])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Played:
    """A performance as a flat note list (sorted by onset, pitch) plus its controller events."""

    onset: np.ndarray
    offset: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray
    controls: list[tuple[float, int, int]]  # (time, controller number, value)

    def notes(self) -> Notes:
        pedal: list[tuple[float, float]] = []
        down: float | None = None
        for t, number, value in self.controls:
            if number != 64:
                continue
            if value >= 64 and down is None:
                down = t
            elif value < 64 and down is not None:
                pedal.append((down, t))
                down = None
        return Notes(self.onset, self.offset, self.pitch, self.velocity, pedal)

    def midi_bytes(self) -> bytes:
        import pretty_midi

        midi = pretty_midi.PrettyMIDI(initial_tempo=120.0)
        piano = pretty_midi.Instrument(program=0, name="piano")
        for on, off, p, v in zip(self.onset, self.offset, self.pitch, self.velocity, strict=True):
            piano.notes.append(pretty_midi.Note(int(v), int(p), float(on), float(max(off, on + 0.02))))
        for t, number, value in self.controls:
            piano.control_changes.append(
                pretty_midi.ControlChange(int(number), int(value), float(max(t, 0.0)))
            )
        midi.instruments.append(piano)
        buf = io.BytesIO()
        midi.write(buf)
        return buf.getvalue()


def read_played(midi_file: Path) -> Played:
    from scorer.inference.decode import parse_midi

    midi = parse_midi(midi_file)
    rows = [
        (n.start, n.end, n.pitch, n.velocity)
        for inst in midi.instruments
        if not inst.is_drum
        for n in inst.notes
    ]
    rows.sort(key=lambda r: (r[0], r[2]))
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
    controls = sorted(
        (c.time, c.number, c.value)
        for inst in midi.instruments
        if not inst.is_drum
        for c in inst.control_changes
        if c.number in (64, 67)
    )
    return Played(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], controls)


@dataclass(frozen=True)
class Reference:
    """The untouched performance against its score: each played note's score note and bar, bar starts."""

    played: Played
    score: Notes
    downbeats: np.ndarray  # score seconds
    match: dict[int, int]  # played note index -> score note index
    bar_starts: np.ndarray  # performance seconds at which each score bar starts (bar n at index n-1)

    @property
    def n_bars(self) -> int:
        return len(self.downbeats)

    def score_bar(self, score_index: int) -> int:
        return int(np.searchsorted(self.downbeats, self.score.onset[score_index] + 1e-6, side="right"))

    def time_bar(self, t: float) -> int:
        return max(1, int(np.searchsorted(self.bar_starts, t + 1e-6, side="right")))


def reference(performance_midi: Path, score_midi: Path) -> Reference:
    from scorer.inference.align import align, bar_starts, load_score

    played = read_played(performance_midi)
    score = load_score(score_midi)
    notes = played.notes()
    alignment = align(notes, score.notes)
    match = {int(p): int(s) for p, s in zip(alignment.perf_notes, alignment.score_notes, strict=True)}
    starts = np.asarray(bar_starts(notes, score, alignment), dtype=np.float64)
    return Reference(played, score.notes, np.asarray(score.downbeats), match, starts)


def _rng(key: str, kind: str) -> np.random.Generator:
    return np.random.default_rng(int(hashlib.sha256(f"{key}|{kind}".encode()).hexdigest()[:12], 16))


def _near(values: np.ndarray, times: np.ndarray, t: float, window: float) -> set[int]:
    return {int(v) for v in values[np.abs(times - t) <= window]}


def _spread_choice(ref: Reference, candidates: list[int], k: int, rng: np.random.Generator) -> list[int]:
    """Up to k candidates in different bars, at least 0.3 s apart, in random order."""
    order = [candidates[i] for i in rng.permutation(len(candidates))]
    chosen: list[int] = []
    bars: set[int] = set()
    for i in order:
        bar = ref.score_bar(ref.match[i])
        if bar not in bars and all(abs(ref.played.onset[i] - ref.played.onset[j]) > 0.3 for j in chosen):
            chosen.append(i)
            bars.add(bar)
        if len(chosen) == k:
            break
    return chosen


def _matched(ref: Reference) -> list[int]:
    """Played notes paired with the score, away from the first and last 0.3 s."""
    on = ref.played.onset
    lo, hi = on.min() + 0.3, on.max() - 0.3
    return [i for i in sorted(ref.match) if lo <= on[i] <= hi]


def _with(played: Played, **changes: Any) -> Played:
    return Played(**{**asdict_played(played), **changes})


def asdict_played(p: Played) -> dict[str, Any]:
    return {
        "onset": p.onset,
        "offset": p.offset,
        "pitch": p.pitch,
        "velocity": p.velocity,
        "controls": p.controls,
    }


def inject_wrong(ref: Reference, k: int, rng: np.random.Generator, truth: Truth, played: Played) -> Played:
    pitch = played.pitch.copy()
    s_on, s_pitch = ref.score.onset, ref.score.pitch
    first = int(rng.integers(len(DELTAS)))  # every size of slip across the set, not only +1/-1/+2
    for n, i in enumerate(_spread_choice(ref, _matched(ref), k * 3, rng), start=first):
        if len([e for e in truth.errors if e["type"] == "wrong"]) >= k:
            break
        s = ref.match[i]
        taken = _near(played.pitch, played.onset, played.onset[i], 0.3) | _near(s_pitch, s_on, s_on[s], 0.5)
        for d in DELTAS[n % len(DELTAS) :] + DELTAS[: n % len(DELTAS)]:
            new = int(played.pitch[i]) + d
            if 21 <= new <= 108 and new not in taken:
                pitch[i] = new
                truth.errors.append(_error("wrong", ref, i, expected=int(played.pitch[i]), played=new))
                break
    return _with(played, pitch=pitch)


def inject_missed(ref: Reference, k: int, rng: np.random.Generator, truth: Truth, played: Played) -> Played:
    s_on, s_pitch = ref.score.onset, ref.score.pitch
    ok = [
        i
        for i in _matched(ref)
        if np.sum((s_pitch == s_pitch[ref.match[i]]) & (np.abs(s_on - s_on[ref.match[i]]) <= 0.3)) == 1
    ]
    drop = _spread_choice(ref, ok, k, rng)
    for i in drop:
        truth.errors.append(_error("missed", ref, i, expected=int(played.pitch[i]), played=None))
    keep = np.setdiff1d(np.arange(len(played.onset)), drop)
    return _with(
        played,
        onset=played.onset[keep],
        offset=played.offset[keep],
        pitch=played.pitch[keep],
        velocity=played.velocity[keep],
    )


def inject_extra(ref: Reference, k: int, rng: np.random.Generator, truth: Truth, played: Played) -> Played:
    s_on, s_pitch = ref.score.onset, ref.score.pitch
    on, off, pitch, vel = (list(a) for a in (played.onset, played.offset, played.pitch, played.velocity))
    for i in _spread_choice(ref, _matched(ref), k, rng):
        later = played.onset[played.onset > played.onset[i] + 0.035]
        gap = float(later.min() - played.onset[i]) if later.size else 0.3
        t = float(played.onset[i] + min(0.4 * gap, 0.15))
        taken = _near(played.pitch, played.onset, t, 0.4) | _near(s_pitch, s_on, s_on[ref.match[i]], 0.6)
        for d in (1, -1, 2, -2, 3, -3):
            new = int(played.pitch[i]) + d
            if 21 <= new <= 108 and new not in taken:
                on.append(t)
                off.append(t + min(0.25, max(0.08, gap)))
                pitch.append(new)
                vel.append(float(played.velocity[i]))
                truth.errors.append(
                    {
                        "type": "extra",
                        # it sounds after its anchor note and before the next event: the anchor's bar
                        "bar": ref.score_bar(ref.match[i]),
                        "time_s": round(t, 4),
                        "expected_pitch": None,
                        "played_pitch": new,
                    }
                )
                break
    order = np.lexsort((np.asarray(pitch), np.asarray(on)))
    return _with(
        played,
        onset=np.asarray(on)[order],
        offset=np.asarray(off)[order],
        pitch=np.asarray(pitch)[order],
        velocity=np.asarray(vel)[order],
    )


def _error(kind: str, ref: Reference, i: int, *, expected: int | None, played: int | None) -> dict[str, Any]:
    return {
        "type": kind,
        "bar": ref.score_bar(ref.match[i]),
        "time_s": round(float(ref.played.onset[i]), 4),
        "expected_pitch": expected,
        "played_pitch": played,
    }


def warp(played: Played, pieces: list[list[float]], keep: tuple[float, float] = (-FAR, FAR)) -> Played:
    """Map every time through the pieces (a note in several pieces appears once per piece: a replay)."""
    rows: list[tuple[float, float, float, float]] = []
    controls: list[tuple[float, int, int]] = []
    for a, b, new_a, scale in pieces:
        sel = (played.onset >= a) & (played.onset < b) & (played.onset >= keep[0]) & (played.onset < keep[1])
        for on, off, p, v in zip(
            played.onset[sel], played.offset[sel], played.pitch[sel], played.velocity[sel], strict=True
        ):
            new_on = new_a + (on - a) * scale
            # a note held past its piece's end (a restart cuts it) ends there
            new_off = new_a + (min(off, b) - a) * scale if b < FAR else new_on + (off - on) * scale
            rows.append((new_on, max(new_off, new_on + 0.03), p, v))
        for t, number, value in played.controls:
            if a <= t < b:
                controls.append((new_a + (t - a) * scale, number, value))
    rows.sort(key=lambda r: (r[0], r[2]))
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
    return Played(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], sorted(controls))


def _own_tempo_ratio(ref: Reference, bar: int) -> float:
    """The original's bar duration against the median of its two neighbours on each side (>1: longer)."""
    dur = np.diff(ref.bar_starts)
    i = bar - 1
    near = [dur[j] for j in range(max(0, i - 2), min(len(dur), i + 3)) if j != i and dur[j] > 0]
    return float(dur[i] / np.median(near)) if near and dur[i] > 0 else 0.0


def inject_tempo(ref: Reference, rng: np.random.Generator, truth: Truth, faster: bool) -> Played:
    """One inner bar 20% faster or slower; the rest of the performance shifted accordingly."""
    inner = [b for b in range(2, ref.n_bars) if ref.bar_starts[b] > ref.bar_starts[b - 1] + 0.2]
    steady = [b for b in inner if abs(np.log(_own_tempo_ratio(ref, b))) < np.log(STEADY)]
    pool = steady or inner
    bar = int(rng.choice(pool)) if pool else max(1, ref.n_bars // 2)
    a, b = float(ref.bar_starts[bar - 1]), float(ref.bar_starts[bar])
    scale = 1 / TEMPO_FACTOR if faster else TEMPO_FACTOR
    truth.time_map = [[-FAR, a, -FAR, 1.0], [a, b, a, scale], [b, FAR, a + (b - a) * scale, 1.0]]
    truth.tempo_bars.append({"bar": bar, "kind": "rushed" if faster else "dragged"})
    return warp(ref.played, truth.time_map)


def inject_uneven(ref: Reference, rng: np.random.Generator, truth: Truth) -> Played:
    """Roll every chord of one bar (the played notes matched to one score onset, 3 or more)."""
    chords: dict[int, dict[float, list[int]]] = {}
    for i, s in ref.match.items():
        chords.setdefault(ref.score_bar(s), {}).setdefault(round(float(ref.score.onset[s]), 4), []).append(i)
    bars = sorted(
        b for b, ch in chords.items() if sum(len(v) >= 3 for v in ch.values()) >= 2 and b < ref.n_bars
    )
    if not bars:
        return ref.played
    bar = int(rng.choice(bars))
    onset, offset = ref.played.onset.copy(), ref.played.offset.copy()
    for notes in chords[bar].values():
        if len(notes) >= 3:
            for k, i in enumerate(sorted(notes, key=lambda j: ref.played.pitch[j])):
                first = min(ref.played.onset[j] for j in notes)
                onset[i] = first + k * ROLL_S
                offset[i] = max(offset[i], onset[i] + 0.03)
    truth.tempo_bars.append({"bar": bar, "kind": "uneven"})
    order = np.lexsort((ref.played.pitch, onset))
    p = ref.played
    return Played(onset[order], offset[order], p.pitch[order], p.velocity[order], p.controls)


def inject_restart(ref: Reference, rng: np.random.Generator, truth: Truth) -> Played:
    """Play to the end of bar b, stop, and start again at bar b-1."""
    bar = int(rng.integers(3, max(4, ref.n_bars - 1)))
    bar = min(bar, ref.n_bars - 1)
    end_b, start_prev = float(ref.bar_starts[bar]), float(ref.bar_starts[bar - 2])
    back = end_b + RESTART_GAP_S
    cut = end_b - 0.03  # notes starting at the next downbeat belong to the second pass
    truth.time_map = [[-FAR, cut, -FAR, 1.0], [start_prev - 0.03, FAR, back - 0.03, 1.0]]
    truth.restarts = 1
    truth.bars_covered = [1, ref.n_bars]
    return warp(ref.played, truth.time_map)


def inject_start_middle(ref: Reference, truth: Truth) -> Played:
    bar = ref.n_bars // 2 + 1
    start = float(ref.bar_starts[bar - 1]) - 0.03
    truth.time_map = [[start, FAR, 0.5, 1.0]]
    truth.bars_covered = [bar, ref.n_bars]
    return warp(ref.played, truth.time_map)


def inject(ref: Reference, key: str, kind: str) -> tuple[Played, Truth]:
    """The variant of ``kind`` and its truth (``original``: the performance unchanged)."""
    truth = Truth(key=key, kind=kind, bars_covered=[1, ref.n_bars])
    rng = _rng(key, kind)
    played = ref.played
    if kind == "wrong":
        played = inject_wrong(ref, PER_VARIANT, rng, truth, played)
    elif kind == "missed":
        played = inject_missed(ref, PER_VARIANT, rng, truth, played)
    elif kind == "extra":
        played = inject_extra(ref, PER_VARIANT, rng, truth, played)
    elif kind in ("rushed", "dragged"):
        played = inject_tempo(ref, rng, truth, faster=kind == "rushed")
    elif kind == "uneven":
        played = inject_uneven(ref, rng, truth)
    elif kind == "restart":
        played = inject_restart(ref, rng, truth)
    elif kind == "start_middle":
        played = inject_start_middle(ref, truth)
    elif kind == "mixed":
        played = inject_wrong(ref, 2, rng, truth, played)
        used = {e["bar"] for e in truth.errors}
        sub = Reference(ref.played, ref.score, ref.downbeats, ref.match, ref.bar_starts)
        played = inject_missed(_excluding(sub, used), 1, rng, truth, played)
        used |= {e["bar"] for e in truth.errors}
        played = inject_extra(_excluding(sub, used, played), 1, rng, truth, played)
    elif kind != "original":
        raise ValueError(f"unknown fault kind: {kind} (one of {', '.join(KINDS)})")
    truth.errors.sort(key=lambda e: e["time_s"])
    return played, truth


def _excluding(ref: Reference, bars: set[int], played: Played | None = None) -> Reference:
    """The reference with the notes of some bars unmatched (so no second fault lands there); when the
    played notes changed (a deletion), indices are remapped onto ``played`` by (onset, pitch)."""
    base = played if played is not None else ref.played
    index = {
        (round(float(t), 5), int(p)): j for j, (t, p) in enumerate(zip(base.onset, base.pitch, strict=True))
    }
    match: dict[int, int] = {}
    for i, s in ref.match.items():
        j = index.get((round(float(ref.played.onset[i]), 5), int(ref.played.pitch[i])))
        if j is not None and ref.score_bar(s) not in bars:
            match[j] = s
    return Reference(base, ref.score, ref.downbeats, match, ref.bar_starts)


def map_time(time_map: list[list[float]], t: float) -> list[float]:
    """Where an original performance time lands in the variant (none if cut, two if replayed)."""
    return [new_a + (t - a) * scale for a, b, new_a, scale in time_map if a <= t < b]
