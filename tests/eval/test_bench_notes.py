"""The injected-error benchmark (eval/bench_notes.py, eval/note_faults.py) on two real PercePiano
performances with MIDI input: what is injected is where the truth says, and the benchmark runs end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eval import bench_notes
from eval.note_faults import KINDS, TEMPO_FACTOR, inject, map_time, reference
from scorer.training.dataset import score_midi_path

KEYS = ("Schubert_D960_mv2_16bars_9_08", "Beethoven_WoO80_var8_8bars_2_6")


@pytest.fixture()
def percepiano(shared_dir: Path) -> Path:
    return shared_dir / "data" / "percepiano"


def _ref(percepiano: Path, key: str):
    return reference(percepiano / "performance_midi" / f"{key}.mid", score_midi_path(percepiano, key))


def test_note_faults_change_exactly_what_the_truth_records(percepiano: Path) -> None:
    key = KEYS[0]
    ref = _ref(percepiano, key)
    orig = ref.played
    wrong, truth = inject(ref, key, "wrong")
    changed = np.flatnonzero(wrong.pitch != orig.pitch)
    assert len(truth.errors) == 3 and len(changed) == 3
    assert sorted(orig.onset[changed].round(4)) == sorted(e["time_s"] for e in truth.errors)
    for e in truth.errors:
        i = int(np.argmin(np.abs(orig.onset - e["time_s"]) + 100 * (orig.pitch != e["expected_pitch"])))
        assert wrong.pitch[i] == e["played_pitch"] and abs(e["played_pitch"] - e["expected_pitch"]) in (
            1,
            2,
            12,
        )
    missed, truth = inject(ref, key, "missed")
    assert len(missed.onset) == len(orig.onset) - 3 and [e["type"] for e in truth.errors] == ["missed"] * 3
    extra, truth = inject(ref, key, "extra")
    assert len(extra.onset) == len(orig.onset) + 3
    for e in truth.errors:  # the inserted note is there, at its time and pitch
        assert np.any((np.abs(extra.onset - e["time_s"]) < 1e-3) & (extra.pitch == e["played_pitch"]))
    # the same seed gives the same variant
    again, truth2 = inject(ref, key, "extra")
    assert truth2.errors == truth.errors and np.array_equal(again.onset, extra.onset)


def test_tempo_restart_and_start_variants_follow_their_time_maps(percepiano: Path) -> None:
    key = KEYS[0]
    ref = _ref(percepiano, key)
    fast, truth = inject(ref, key, "rushed")
    bar = truth.tempo_bars[0]["bar"]
    a, b = ref.bar_starts[bar - 1], ref.bar_starts[bar]
    new_a, new_b = map_time(truth.time_map, a)[0], map_time(truth.time_map, b - 1e-6)[0]
    assert new_b - new_a == pytest.approx((b - a) / TEMPO_FACTOR, rel=1e-3)
    assert len(fast.onset) == len(ref.played.onset)
    restart, truth = inject(ref, key, "restart")
    assert truth.restarts == 1 and len(restart.onset) > len(ref.played.onset)
    replayed = [t for t in ref.played.onset if len(map_time(truth.time_map, t)) == 2]
    assert replayed, "two bars are played twice"
    middle, truth = inject(ref, key, "start_middle")
    assert truth.bars_covered == [ref.n_bars // 2 + 1, ref.n_bars]
    assert middle.onset.min() == pytest.approx(0.5, abs=0.05) and len(middle.onset) < len(ref.played.onset)


def test_benchmark_runs_on_two_performances_with_midi_input(percepiano: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "bench.json"
    rc = bench_notes.main(["--keys", ",".join(KEYS), "--input", "midi", "--out", str(out)])
    assert rc == 0
    table = capsys.readouterr().out
    assert "| wrong |" in table and "rushed/dragged" in table
    result = json.loads(out.read_text())["midi"]
    cases = result["cases"]
    assert [c["kind"] for c in cases[0]] == ["original", *KINDS]
    summary = result["summary"]["all"]
    # every injected error is counted exactly once: found, missed or set aside as the performer's own
    injected = sum(len(c["truth"]["errors"]) for cs in cases for c in cs)
    counted = sum(summary["notes"][k]["tp"] + summary["notes"][k]["fn"] for k in ("wrong", "missed", "extra"))
    assert 0 < counted <= injected
    # the assessment finds most pitch substitutions on these two (a regression guard, not the goal)
    assert summary["notes"]["wrong"]["recall"] >= 0.8


def test_unknown_kind_is_a_one_line_error(capsys) -> None:
    assert bench_notes.main(["--keys", KEYS[0], "--kinds", "wrong,bogus"]) == 2
    assert "unknown kind: bogus" in capsys.readouterr().err


def test_a_performer_slip_in_a_replayed_stretch_is_their_own_both_times() -> None:
    """A restart plays the bars before it again, with the performer's own slip in them: the variant reports
    that slip twice, and both are the performer's, neither a false positive."""
    from eval.note_faults import Truth

    slip = {
        "type": "missed",
        "bar": 3,
        "beat": 1.0,
        "time_s": 5.0,
        "expected_pitch": 60,
        "played_pitch": None,
    }
    original = bench_notes.Case("k", "original", Truth("k", "original"), [slip], [], 0, [1, 4], 0.0)
    # the variant replays 4-6 s after 6 s: original time t lands at t and at t + 2
    replay = Truth("k", "restart", restarts=1, time_map=[[-1e9, 6.0, -1e9, 1.0], [4.0, 1e9, 6.0, 1.0]])
    twice = [slip, {**slip, "time_s": 7.0}]
    tally = bench_notes.Tally()
    bench_notes.count_notes(
        [original, bench_notes.Case("k", "restart", replay, twice, [], 1, [1, 4], 0.0)], tally
    )
    assert tally.own["missed"] == 2 and tally.fp["missed"] == 0


def test_a_substitution_half_the_performers_own_counts_its_injected_half() -> None:
    """The original leaves out a 60; the variant inserts a 66 beside it. The assessment reports one wrong
    note, 60 -> 66 (a missed and an extra note at one place): the injected extra note is found, and the
    missed half is the performer's own, not a false positive."""
    from eval.note_faults import Truth

    own = {"type": "missed", "bar": 3, "beat": 1.0, "time_s": 5.0, "expected_pitch": 60, "played_pitch": None}
    inserted = {"type": "extra", "bar": 3, "time_s": 5.02, "expected_pitch": None, "played_pitch": 66}
    reported = {**own, "type": "wrong", "time_s": 5.01, "played_pitch": 66}
    original = bench_notes.Case("k", "original", Truth("k", "original"), [own], [], 0, [1, 4], 0.0)
    variant = bench_notes.Case(
        "k", "extra", Truth("k", "extra", errors=[inserted]), [reported], [], 0, [1, 4], 0.0
    )
    tally = bench_notes.Tally()
    bench_notes.count_notes([original, variant], tally)
    assert tally.tp["extra"] == 1 and tally.fn["extra"] == 0 and tally.fp["wrong"] == 0
    # the original's one slip explains one report: beside the same missed note reported again, the
    # substitution is not half of it a second time
    again = bench_notes.Case(
        "k", "extra", Truth("k", "extra", errors=[inserted]), [own, reported], [], 0, [1, 4], 0.0
    )
    tally = bench_notes.Tally()
    bench_notes.count_notes([original, again], tally)
    assert tally.own["missed"] == 1 and tally.tp["extra"] == 0 and tally.fp["wrong"] == 1
    # the same wrong note with no such slip in the original is a false substitution
    clean = bench_notes.Case("k", "original", Truth("k", "original"), [], [], 0, [1, 4], 0.0)
    tally = bench_notes.Tally()
    bench_notes.count_notes([clean, variant], tally)
    assert tally.tp["extra"] == 0 and tally.fn["extra"] == 1 and tally.fp["wrong"] == 1
