"""Scores in MusicXML (a hand-written minuet: pickup bar numbered 0, ties, a grace note, a trill, a repeat,
two voices sharing a pitch, p/f markings) read through partitura, and a performance of it played with
the repeat, the trill and without the grace note: no false error; a bar that ignores its p is flagged."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from scorer.inference.align import NotatedScore, load_score
from scorer.inference.features import Notes
from scorer.inference.note_assessment import assess

MINUET = Path(__file__).resolve().parents[1] / "data" / "scores" / "minuet.musicxml"


@pytest.fixture(scope="module")
def minuet() -> NotatedScore:
    return load_score(MINUET)


def test_musicxml_bars_beats_and_markings(minuet: NotatedScore) -> None:
    s = minuet
    assert s.numbers.tolist() == list(range(9))  # the pickup keeps its printed number 0
    assert s.signature(3) == (3, 4) and s.pickup_beats == 2.0
    beats = s.beat_of(s.notes.onset)
    bars = s.numbers[s.bar_index(s.notes.onset)]
    # the pickup's one quarter is beat 3 of its bar; bar 1's notes fall on beats 1, 2, 3
    assert (bars[0], beats[0], s.notes.pitch[0]) == (0, 3.0, 74)
    assert sorted(beats[(bars == 1) & (s.notes.pitch >= 60)].tolist()) == [1.0, 2.0, 3.0]
    # the tie D5 (bar 3 to 4) is one note; C5 in two voices of bar 6 is one note
    assert int(((bars == 4) & (s.notes.pitch == 74)).sum()) == 0
    assert int(((bars == 6) & (s.notes.pitch == 72)).sum()) == 1
    assert s.grace is not None and s.notes.pitch[s.grace].tolist() == [76]
    assert s.ornament is not None and s.notes.pitch[s.ornament].tolist() == [76]
    assert s.dynamics == ("p", "p", "p", "p", "p", "f", "f", "p", "p")
    assert len(s.repeats) == 1 and s.repeats[0][0] == pytest.approx(s.downbeats[1])
    assert set(s.keys) == {(1, False)}  # one sharp, no <mode>: the notes say G major


def test_compressed_mxl_reads_the_same(minuet: NotatedScore, tmp_path: Path) -> None:
    path = tmp_path / "minuet.mxl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "META-INF/container.xml",
            '<?xml version="1.0" encoding="UTF-8"?><container><rootfiles>'
            '<rootfile full-path="score.musicxml" media-type="application/vnd.recordare.musicxml+xml"/>'
            "</rootfiles></container>",
        )
        z.writestr("score.musicxml", MINUET.read_bytes())
    other = load_score(path)
    assert other.notes.pitch.tolist() == minuet.notes.pitch.tolist()
    assert other.numbers.tolist() == minuet.numbers.tolist()


def _perform(s: NotatedScore, loud_bar: int | None = None) -> Notes:
    """Pickup + bars 1-4, the repeat (bars 1-4 again), bars 5-8; 10% slower than notated; the trill
    (E5, bar 5) as five alternating E5/F#5; the grace note played the first time only; p bars at
    velocity 40, f bars at 80 (``loud_bar`` at 85)."""
    n = s.notes
    grace = s.grace if s.grace is not None else np.zeros(n.pitch.size, dtype=bool)
    bars = s.numbers[s.bar_index(n.onset)]
    on: list[float] = []
    pit: list[int] = []
    vel: list[int] = []

    def play(sel: np.ndarray, shift: float, with_grace: bool) -> None:
        for i in np.flatnonzero(sel):
            if grace[i] and not with_grace:
                continue
            v = 80 if s.dynamics[int(s.bar_index(n.onset[i : i + 1])[0])] == "f" else 40
            v = 85 if bars[i] == loud_bar else v
            if s.ornament is not None and s.ornament[i]:
                for k in range(5):
                    on.append(n.onset[i] + shift + 0.11 * k)
                    pit.append(int(n.pitch[i]) + (2 if k % 2 else 0))
                    vel.append(v)
                continue
            on.append(n.onset[i] + shift)
            pit.append(int(n.pitch[i]))
            vel.append(v)

    first = bars <= 4
    play(first, 0.0, True)
    repeat_len = float(s.downbeats[5] - s.downbeats[1])
    play((bars >= 1) & (bars <= 4), repeat_len + 0.3, False)
    play(bars >= 5, repeat_len + 0.3, False)
    t = np.array(on) * 1.1
    order = np.lexsort((np.array(pit), t))
    return Notes(t[order], t[order] + 0.3, np.array(pit)[order], np.array(vel)[order], [])


def test_a_performance_with_repeat_trill_and_no_grace_note_has_no_errors(minuet: NotatedScore) -> None:
    result = assess(_perform(minuet), minuet)
    assert result.followed
    assert result.note_errors == [], result.note_errors
    assert [(p.first_bar, p.last_bar) for p in result.passes] == [(0, 4), (1, 8)]
    assert result.restarts == 0  # the repeat is notated: playing it is no restart
    assert [b.bar for b in result.bars if b.pass_ == 1] == [0, 1, 2, 3, 4]
    assert not [b for b in result.bars if "dynamics" in b.flags]


def test_a_bar_that_ignores_its_piano_is_flagged(minuet: NotatedScore) -> None:
    result = assess(_perform(minuet, loud_bar=7), minuet)
    flagged = [b.bar for b in result.bars if "dynamics" in b.flags]
    assert flagged == [7]
