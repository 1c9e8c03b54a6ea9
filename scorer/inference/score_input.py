"""Scores in: MIDI (pretty_midi, as before) and MusicXML / .mxl (partitura) as one :class:`NotatedScore`.

What the note-level assessment needs from a score, and where it comes from:

- notes in *score seconds* (MIDI: its own clock; MusicXML: quarters at ``XML_QPM``), each note once: a
  pitch notated in two voices at the same onset (a shared unison, a doubled note) is one key press, so
  duplicates are merged (the longest kept);
- bars: the start of every bar (``downbeats``), its number as printed (a MusicXML pickup keeps its
  ``number="0"``; MIDI bars count from 1), its time signature and length in beats;
- per note: grace note and ornament (trill, mordent, turn ...) flags, so that a skipped grace note or the
  extra notes of a trill are not called errors;
- per bar: the dynamic marking in effect (MusicXML only; MIDI carries no markings);
- repeats: the score is kept in notated order, each bar once (no unfolding); a played repeat is a jump
  back that ``passes`` turns into a second pass, and a repeat skipped costs nothing.

Several parts (a piano written as two parts) are merged into one texture. Files come in through
``scorer.inference.score_files.read_score_file`` (format sniffed by content, size and XML-safety checks).
"""

from __future__ import annotations

import io
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from scorer.errors import RecordingError
from scorer.inference.align import NotatedScore
from scorer.inference.features import Notes, notes_from_midi
from scorer.pitch_names import C_MAJOR, Key, key_of_name, mode_from_notes

# MusicXML has no clock: quarters are laid out at this tempo (only ratios matter to the alignment, and
# 100 qpm keeps a 32nd note (75 ms) above the 35 ms event gap).
XML_QPM = 100.0
DEFAULT_SCORE_MAX_BYTES = 4 * 1024 * 1024
_DUPLICATE_S = 1e-3
# loudness order of the usual markings; the dynamics flag compares bars through it
DYNAMIC_LEVELS = {
    "pppp": 0,
    "ppp": 1,
    "pp": 2,
    "p": 3,
    "mp": 4,
    "mf": 5,
    "f": 6,
    "ff": 7,
    "fff": 8,
    "ffff": 9,
    "sf": 6,
    "sfz": 6,
    "fp": 3,
}


def read_score(path: Path, name: str, max_bytes: int = DEFAULT_SCORE_MAX_BYTES) -> tuple[str, bytes]:
    """(format, bytes) of a score file through the one safe reader (``score_files``); until that module
    exists a minimal content sniff stands in (MIDI magic, else XML text)."""
    try:
        from scorer.inference.score_files import read_score_file
    except ImportError:  # pragma: no cover - the stand-in until score_files lands
        data = path.read_bytes()
        if not data:
            raise RecordingError(f"{name}: the score file is empty") from None
        if data[:4] == b"MThd":
            return "midi", data
        if b"<score-partwise" in data[:4096]:
            return "musicxml", data
        raise RecordingError(
            f"{name}: not a score file (send MIDI, MusicXML or compressed MusicXML .mxl)"
        ) from None
    sf = read_score_file(path, name, max_bytes)
    return sf.format, sf.data


def load_score_file(
    path: Path, name: str | None = None, max_bytes: int = DEFAULT_SCORE_MAX_BYTES
) -> NotatedScore:
    """A score file (MIDI, MusicXML, .mxl) as a NotatedScore; one-line RecordingError when unusable."""
    path = Path(path)
    name = name or path.name
    if not path.is_file():
        raise RecordingError(f"score not found: {name}")
    fmt, data = read_score(path, name, max_bytes)
    if fmt == "midi":
        return score_from_midi_bytes(data, name)
    return score_from_musicxml(data, name)


def score_from_midi_bytes(data: bytes, name: str) -> NotatedScore:
    import pretty_midi

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            midi = pretty_midi.PrettyMIDI(io.BytesIO(data))
        downbeats = np.asarray(midi.get_downbeats(), dtype=np.float64)
        notes = notes_from_midi(midi)
    except Exception as err:  # mido/pretty_midi raise many types for corrupt files
        raise RecordingError(f"{name}: unreadable score MIDI ({type(err).__name__})") from err
    if notes.pitch.size == 0:
        raise RecordingError(f"{name}: the score has no notes")
    if downbeats.size == 0:
        raise RecordingError(f"{name}: the score MIDI has no bars (no time signature or tempo)")
    # a downbeat after the last note is no bar anyone plays
    downbeats = downbeats[downbeats < notes.onset.max() + 1e-6] if downbeats.size > 1 else downbeats
    ts = sorted(midi.time_signature_changes, key=lambda t: t.time)
    beats = []
    for t in downbeats:
        current = [x for x in ts if x.time <= t + 1e-6]
        num, den = (current[-1].numerator, current[-1].denominator) if current else (4, 4)
        beats.append((num, den))
    changes = _midi_key_changes(data, midi)
    signed = [next((k for t_k, k in reversed(changes) if t_k <= t + 1e-6), None) for t in downbeats]
    # a MIDI key named major is often minor (C minor is written "Eb" as often as "Cm"): the notes decide;
    # one named minor is taken at its word
    keys = _modes_from_notes(
        [(k[0], True if k[1] else None) if k else None for k in signed], notes, downbeats
    )
    return NotatedScore(
        notes,
        downbeats,
        bar_numbers=np.arange(1, downbeats.size + 1),
        time_signatures=tuple(beats),
        keys=keys,
    )


def _modes_from_notes(
    signed: list[tuple[int, bool | None] | None], notes: Notes, downbeats: np.ndarray
) -> tuple[Key, ...]:
    """Per bar: its signature with the mode the score states, or, where it states none, the mode the notes
    written under that signature sound in (``mode_from_notes``); C major where there is no signature."""
    bar_of_note = np.clip(np.searchsorted(downbeats, notes.onset + 1e-6, side="right") - 1, 0, None)
    decided: dict[int, bool] = {}
    out: list[Key] = []
    for k in signed:
        if k is None:
            out.append(C_MAJOR)
            continue
        fifths, minor = k
        if minor is None:
            if fifths not in decided:
                bars = [i for i, other in enumerate(signed) if other is not None and other[0] == fifths]
                sel = np.isin(bar_of_note, bars)
                decided[fifths] = mode_from_notes(
                    fifths, notes.pitch[sel], notes.offset[sel] - notes.onset[sel]
                )
            minor = decided[fifths]
        out.append((fifths, minor))
    return tuple(out)


def _midi_key_changes(data: bytes, midi: Any) -> list[tuple[float, Key]]:
    """(seconds, key) of every key-signature event, in time order. Read with mido, whose key names keep
    the spelling (pretty_midi's key numbers do not tell G♭ major from F♯ major)."""
    import mido

    try:
        found: list[tuple[float, Key]] = []
        for track in mido.MidiFile(file=io.BytesIO(data)).tracks:
            tick = 0
            for msg in track:
                tick += msg.time
                key = key_of_name(msg.key) if msg.type == "key_signature" else None
                if key is not None:
                    found.append((float(midi.tick_to_time(tick)), key))
    except Exception:  # noqa: BLE001 - pretty_midi read the file; names then stay in C major's spelling
        return []
    return sorted(found, key=lambda x: x[0])


def score_from_musicxml(data: bytes, name: str) -> NotatedScore:
    """MusicXML text (already checked safe by score_files) through partitura."""
    import partitura as pt

    with tempfile.NamedTemporaryFile(suffix=".musicxml") as tmp:
        tmp.write(data)
        tmp.flush()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed = pt.load_musicxml(tmp.name, quiet=True)
        except Exception as err:  # partitura/lxml raise many types on odd files
            raise RecordingError(f"{name}: unreadable MusicXML ({type(err).__name__}: {err})"[:300]) from err
    parts = list(parsed.parts)
    if not parts:
        raise RecordingError(f"{name}: the MusicXML score has no parts")
    # several parts (a piano written as two, a duet): read as one texture
    part = parts[0] if len(parts) == 1 else pt.score.merge_parts(parts)
    return _from_part(part, name)


# tempo words that set a new tempo (partitura also reads expressive words such as "espressivo" or "ten." as
# constant tempo directions: those change nothing here)
TEMPO_WORDS = (
    "grave", "largo", "larghetto", "lento", "adagio", "andante", "andantino", "moderato", "allegretto",
    "allegro", "vivace", "vivo", "presto", "prestissimo", "mosso", "moto", "doppio", "istesso",
)  # fmt: skip
FIRST_TEMPO_WORDS = ("tempo i", "tempo 1", "tempo primo", "primo tempo", "1o tempo", "tempo 1o")


def _direction_text(d: Any) -> str:
    return str(getattr(d, "text", "") or "").strip().lower()


def _tempo_marks(
    part: Any, measures: list[Any]
) -> tuple[tuple[bool, ...], tuple[bool, ...], tuple[int, ...]]:
    """Per bar, from the tempo markings: may the player take time here (a fermata in the bar or on its
    closing barline, or inside a rit./rall. span), push on (inside an accel.; not "rubato"), and which tempo
    section is it in: a new one from each tempo word (``TEMPO_WORDS``) or changed metronome mark after the
    start; "Tempo I" goes back to the first; "a tempo" ends an open rit./accel., else goes back to the tempo
    before the last change. A gradual direction lasts to its written end, else to the next tempo direction,
    else to the end of the piece; a bar with a change of tempo inside it may do both."""
    import partitura as pt

    score = pt.score
    first_t = float(measures[0].start.t)
    # one event per (time, kind, text): a score with several parts repeats its directions
    seen: dict[tuple[float, str, str], Any] = {}
    for d in part.iter_all(score.TempoDirection, include_subclasses=True):
        seen.setdefault((float(d.start.t), type(d).__name__, _direction_text(d)), d)
    directions = sorted(seen.values(), key=lambda d: float(d.start.t))
    word_times = {float(d.start.t) for d in directions}
    metronome = sorted(part.iter_all(score.Tempo), key=lambda m: float(m.start.t))
    spans: dict[str, list[tuple[float, float]]] = {"slower": [], "faster": []}
    changes: list[tuple[float, int]] = []  # (time, section in effect from then)
    events: list[tuple[float, str, Any]] = [(float(d.start.t), "direction", d) for d in directions]
    bpm_now = float(metronome[0].bpm) if metronome else None
    for m in metronome:
        t, bpm = float(m.start.t), float(m.bpm)
        # a metronome mark beside a tempo word is that word's; a restated one changes nothing
        if t > first_t and t not in word_times and bpm_now and abs(bpm / bpm_now - 1) > 0.02:
            events.append((t, "metronome", m))
        bpm_now = bpm
    events.sort(key=lambda e: e[0])
    section, earlier, n_sections = 0, [0], 1

    def new_section(t: float) -> None:
        nonlocal section, n_sections
        earlier.append(section)
        section, n_sections = n_sections, n_sections + 1
        changes.append((t, section))

    for k, (t, kind, d) in enumerate(events):
        if kind == "metronome":
            new_section(t)
            continue
        text = _direction_text(d)
        gradual = (
            "slower"
            if isinstance(d, score.DecreasingTempoDirection)
            else "faster"
            if isinstance(d, score.IncreasingTempoDirection) and "rubato" not in text
            else None
        )
        if gradual is not None:
            later = [u for u, _, _ in events[k + 1 :] if u > t]
            written_end = float(d.end.t) if getattr(d, "end", None) is not None else None
            end = (
                written_end
                if written_end is not None and written_end > t
                else (later[0] if later else float("inf"))
            )
            spans[gradual].append((t, end))
        elif isinstance(d, score.ResetTempoDirection):
            open_span = any(lo < t <= hi for lo, hi in spans["slower"] + spans["faster"])
            if any(w in text for w in FIRST_TEMPO_WORDS):
                if section != 0:
                    section = 0
                    changes.append((t, 0))
            elif not open_span and len(earlier) > 1:
                section = earlier.pop()
                changes.append((t, section))
        elif t > first_t and any(w in text for w in TEMPO_WORDS):
            new_section(t)

    def inside(kind: str, m: Any) -> bool:
        a, b = float(m.start.t), float(m.end.t)
        return any(lo < b and hi > a for lo, hi in spans[kind])

    def changed_inside(m: Any) -> bool:
        return any(float(m.start.t) < t < float(m.end.t) for t, _ in changes)

    def section_of(m: Any) -> int:
        now = [c for t, c in changes if t <= float(m.start.t)]
        return now[-1] if now else 0

    # (time, on a note?) of each fermata; one on a barline sits at the end of the bar it closes
    fermatas = [
        (float(f.start.t), isinstance(getattr(f, "ref", None), score.Note))
        for f in part.iter_all(score.Fermata)
    ]

    def fermata_in(m: Any) -> bool:
        a, b = float(m.start.t), float(m.end.t)
        return any((a <= t < b) if on_note else (a < t <= b) for t, on_note in fermatas)

    slower = tuple(inside("slower", m) or changed_inside(m) or fermata_in(m) for m in measures)
    faster = tuple(inside("faster", m) or changed_inside(m) for m in measures)
    return slower, faster, tuple(section_of(m) for m in measures)


def _from_part(part: object, name: str) -> NotatedScore:
    import partitura as pt

    notes_tied = [n for n in part.notes_tied if n.midi_pitch is not None]  # type: ignore[attr-defined]
    if not notes_tied:
        raise RecordingError(f"{name}: the score has no notes")
    measures = sorted(part.measures, key=lambda m: m.start.t)  # type: ignore[attr-defined]
    if not measures:
        raise RecordingError(f"{name}: the score has no bars")
    qmap = part.quarter_map  # type: ignore[attr-defined]
    starts_q = np.asarray(qmap(np.array([m.start.t for m in measures], dtype=float)), dtype=np.float64)
    ends_q = np.asarray(qmap(np.array([m.end.t for m in measures], dtype=float)), dtype=np.float64)
    q0 = float(starts_q[0])
    sec_per_q = 60.0 / XML_QPM

    def to_s(q: np.ndarray) -> np.ndarray:
        return (np.asarray(q, dtype=np.float64) - q0) * sec_per_q

    # time signature per bar
    tss = sorted(part.iter_all(pt.score.TimeSignature), key=lambda t: t.start.t)  # type: ignore[attr-defined]
    sigs: list[tuple[int, int]] = []
    for m in measures:
        cur = [t for t in tss if t.start.t <= m.start.t]
        sigs.append((int(cur[-1].beats), int(cur[-1].beat_type)) if cur else (4, 4))
    numbers: list[int] = []
    for i, m in enumerate(measures):
        label = str(getattr(m, "name", "") or "")
        numbers.append(int(label) if label.isdigit() else (numbers[-1] + 1 if numbers else i + 1))
    # dynamics: the marking in effect at each bar (one written inside the bar counts for it)
    marks = sorted(
        (
            (d.start.t, str(d.text).strip().lower())
            for d in part.iter_all(pt.score.ConstantLoudnessDirection)  # type: ignore[attr-defined]
            if str(getattr(d, "text", "")).strip().lower() in DYNAMIC_LEVELS
        ),
    )
    dynamics: list[str | None] = []
    for m in measures:
        cur_marks = [txt for t, txt in marks if t < m.end.t]
        dynamics.append(cur_marks[-1] if cur_marks else None)
    slower, faster, sections = _tempo_marks(part, measures)
    onset_q = np.asarray(qmap(np.array([n.start.t for n in notes_tied], dtype=float)), dtype=np.float64)
    offset_q = np.asarray(qmap(np.array([n.end_tied.t for n in notes_tied], dtype=float)), dtype=np.float64)
    pitch = np.array([int(n.midi_pitch) for n in notes_tied], dtype=np.int64)
    grace = np.array([isinstance(n, pt.score.GraceNote) for n in notes_tied], dtype=bool)
    ornament = np.array([bool(getattr(n, "ornaments", None)) for n in notes_tied], dtype=bool)
    # grace notes take no notated time: placed just before their main note so the order is the played one
    onset_q = np.where(grace, onset_q - 0.05, onset_q)
    offset_q = np.maximum(offset_q, onset_q + 0.05)
    velocity = np.full(pitch.size, 64, dtype=np.int64)
    raw = Notes(to_s(onset_q), to_s(offset_q), pitch, velocity, [])
    # dedupe, carrying the flags along
    keep: dict[tuple[int, int], int] = {}
    for i in range(pitch.size):
        key = (int(pitch[i]), int(round(raw.onset[i] / _DUPLICATE_S)))
        j = keep.get(key)
        if j is None or raw.offset[i] - raw.onset[i] > raw.offset[j] - raw.onset[j]:
            keep[key] = i
    idx = np.array(sorted(keep.values(), key=lambda i: (raw.onset[i], pitch[i])), dtype=np.int64)
    notes = Notes(raw.onset[idx], raw.offset[idx], pitch[idx], velocity[idx], [])
    # a first bar shorter than its time signature is a pickup: its beats are counted from the end
    full0 = sigs[0][0] * 4.0 / sigs[0][1]
    pickup_beats = max(0.0, full0 - float(ends_q[0] - starts_q[0])) / (4.0 / sigs[0][1])
    repeats = tuple(
        (float(to_s(qmap(np.array([float(r.start.t)])))[0]), float(to_s(qmap(np.array([float(r.end.t)])))[0]))
        for r in part.iter_all(pt.score.Repeat)  # type: ignore[attr-defined]
    )
    signatures = sorted(part.iter_all(pt.score.KeySignature), key=lambda k: k.start.t)  # type: ignore[attr-defined]
    signed: list[tuple[int, bool | None] | None] = []
    for m in measures:
        cur_keys = [k for k in signatures if k.start.t <= m.start.t]
        fifths = getattr(cur_keys[-1], "fifths", None) if cur_keys else None
        if not isinstance(fifths, (int, np.integer)) or not -7 <= fifths <= 7:  # no usable signature
            signed.append(None)
            continue
        mode = str(cur_keys[-1].mode or "").lower()
        signed.append((int(fifths), True if mode == "minor" else False if mode == "major" else None))
    return NotatedScore(
        notes,
        to_s(starts_q),
        bar_numbers=np.array(numbers, dtype=np.int64),
        time_signatures=tuple(sigs),
        grace=grace[idx],
        ornament=ornament[idx],
        dynamics=tuple(dynamics),
        notated_slower=slower,
        notated_faster=faster,
        tempo_sections=sections,
        pickup_beats=pickup_beats,
        end_s=float(to_s(ends_q[-1:])[0]),
        repeats=repeats,
        keys=_modes_from_notes(signed, notes, to_s(starts_q)),
        source_format="musicxml",
    )
