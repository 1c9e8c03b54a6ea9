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


def test_a_slip_later_in_the_take_does_not_move_its_start_in_a_repeating_opening(shared_dir: Path) -> None:
    """D960's scherzo opens with a figure its second bar repeats. With a free start, one note left out at
    1.27 s (bar 2) tipped the path into starting a bar late: the opening notes became extra, bar 2's
    missed. A start after the score's first event now costs a share of a jump."""
    import pretty_midi

    from scorer.inference.features import notes_from_midi

    pp = shared_dir / "data" / "percepiano"
    score = load_score(pp / "score_midi" / "Schubert_D960_mv3_8bars_Score_05.mid")
    perf = notes_from_midi(
        pretty_midi.PrettyMIDI(str(pp / "performance_midi" / "Schubert_D960_mv3_8bars_1_05.mid"))
    )
    for leave_out in (None, (49, 1.27)):
        keep = np.ones(perf.pitch.size, dtype=bool)
        if leave_out:
            keep &= ~((perf.pitch == leave_out[0]) & (np.abs(perf.onset - leave_out[1]) < 0.05))
            assert (~keep).sum() == 1
        take = Notes(perf.onset[keep], perf.offset[keep], perf.pitch[keep], perf.velocity[keep], [])
        result = assess(take, score)
        assert result.bars_covered is not None and result.bars_covered[0] == 1, leave_out
        assert not [e for e in result.note_errors if e.type == "extra" and e.time_s < 0.5], leave_out
