"""Pass segmentation (scorer.inference.passes) on PercePiano's score MIDI played back: the whole passage
twice (a jump back with no notated repeat is a restart), two bars skipped (a jump forward: a new pass and no
missed notes for the bars never played), and one straight run (one pass)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scorer.inference.align import NotatedScore, load_score
from scorer.inference.features import Notes
from scorer.inference.note_assessment import assess
from scorer.inference.passes import segment_passes

SCORE = "Beethoven_WoO80_var8_8bars_Score_6.mid"


@pytest.fixture(scope="module")
def score(shared_dir: Path) -> NotatedScore:
    return load_score(shared_dir / "data" / "percepiano" / "score_midi" / SCORE)


def _play(score: NotatedScore, spans: list[tuple[int, int]], gap: float = 0.5) -> Notes:
    """Bars [a, b) (0-based indices) one after another, ``gap`` seconds apart, at the notated tempo."""
    n, db = score.notes, np.append(score.downbeats, score.bar_ends[-1])
    on, pit = [], []
    t = 0.0
    for a, b in spans:
        sel = (n.onset >= db[a] - 1e-6) & (n.onset < db[b] - 1e-6)
        on.append(n.onset[sel] - db[a] + t)
        pit.append(n.pitch[sel])
        t += db[b] - db[a] + gap
    o, p = np.concatenate(on), np.concatenate(pit)
    order = np.lexsort((p, o))
    return Notes(o[order], o[order] + 0.1, p[order], np.full(o.size, 64), [])


def test_one_straight_run_is_one_pass(score: NotatedScore) -> None:
    spans = segment_passes(_play(score, [(0, 8)]), score.notes, 4.0)
    assert len(spans) == 1 and (spans[0].s_start, spans[0].s_end) == (0, score.notes.pitch.size)


def test_the_passage_played_twice_is_two_passes_and_a_restart(score: NotatedScore) -> None:
    result = assess(_play(score, [(0, 8), (0, 8)]), score)
    assert [(p.first_bar, p.last_bar) for p in result.passes] == [(1, 8), (1, 8)]
    assert result.restarts == 1 and result.note_errors == []
    assert len(result.bars) == 16 and {b.pass_ for b in result.bars} == {1, 2}


def test_two_bars_skipped_is_a_new_pass_without_missed_notes(score: NotatedScore) -> None:
    result = assess(_play(score, [(0, 3), (5, 8)]), score)
    assert [(p.first_bar, p.last_bar) for p in result.passes] == [(1, 3), (6, 8)]
    assert result.restarts == 0 and result.note_errors == []
    assert {b.bar for b in result.bars} == {1, 2, 3, 6, 7, 8}
