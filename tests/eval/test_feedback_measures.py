"""eval.faults on a MIDI written in the test: each fault changes what it says and nothing else."""

from __future__ import annotations

import numpy as np
import pretty_midi
import pytest

from eval.faults import FAULT_DIMENSIONS, FAULTS, JITTER_S, _accompaniment, inject, midi_bytes
from scorer.dimensions import NAMES
from scorer.schema import NOTE_SPOT_DIMENSIONS


def _piece(n: int = 200) -> pretty_midi.PrettyMIDI:
    """A melody (C5..) over a bass and a chord every half second; the performer pedals each bar."""
    midi = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(0)
    for i in range(n // 4):
        t = 0.5 * i
        piano.notes.append(pretty_midi.Note(70 + i % 5 * 2, 72 + i % 7, t, t + 0.45))  # melody
        for pitch, vel in ((48, 50), (55, 45), (64, 40)):
            piano.notes.append(pretty_midi.Note(vel, pitch, t, t + 0.45))
        if i % 4 == 0:
            piano.control_changes += [
                pretty_midi.ControlChange(64, 100, t + 0.05),
                pretty_midi.ControlChange(64, 0, t + 1.9),
            ]
    midi.instruments.append(piano)
    return midi


def test_the_mapping_names_known_dimensions_only() -> None:
    assert set(FAULT_DIMENSIONS) == set(FAULTS)
    for dims in FAULT_DIMENSIONS.values():
        assert dims and dims <= set(NAMES) | set(NOTE_SPOT_DIMENSIONS)


def test_faults_are_deterministic_and_leave_the_original_alone() -> None:
    midi = _piece()
    before = midi_bytes(midi)
    for fault in FAULTS:
        assert midi_bytes(inject(midi, fault, 3)) == midi_bytes(inject(midi, fault, 3)), fault
    assert midi_bytes(midi) == before
    with pytest.raises(KeyError):
        inject(midi, "no_such_fault")


def test_jitter_moves_onsets_by_about_70_ms_and_keeps_durations() -> None:
    midi = _piece()
    out = inject(midi, "jitter", 1)
    a, b = midi.instruments[0].notes, out.instruments[0].notes
    shifts = np.array([y.start - x.start for x, y in zip(a, b, strict=True)])
    assert 0.8 * JITTER_S < shifts[np.array([x.start for x in a]) > 0.5].std() < 1.2 * JITTER_S
    assert all(abs((y.end - y.start) - (x.end - x.start)) < 1e-9 for x, y in zip(a, b, strict=True))
    assert [x.pitch for x in a] == [y.pitch for y in b]


def test_pedal_is_held_from_the_first_note_to_the_last() -> None:
    out = inject(_piece(), "pedal_held", 0)
    cc = [(c.value, c.time) for c in out.instruments[0].control_changes if c.number == 64]
    assert len(cc) == 2 and cc[0][0] >= 64 and cc[1][0] < 64
    notes = out.instruments[0].notes
    assert cc[0][1] <= min(n.start for n in notes) and cc[1][1] >= max(n.end for n in notes)


def test_left_hand_louder_than_the_melody() -> None:
    midi = _piece()
    melody, accomp = _accompaniment(midi.instruments[0].notes)
    assert {n.pitch for n in melody} >= {72} and all(n.pitch < 70 for n in accomp)
    out = inject(midi, "left_hand_loud", 0)
    m2, a2 = _accompaniment(out.instruments[0].notes)
    assert np.mean([n.velocity for n in a2]) > np.mean([n.velocity for n in m2]) + 20
    assert np.mean([n.velocity for n in melody]) > np.mean(
        [n.velocity for n in accomp]
    )  # before: the other way


def test_flat_dynamics_and_wrong_notes() -> None:
    midi = _piece()
    flat = inject(midi, "flat_dynamics", 0)
    assert len({n.velocity for n in flat.instruments[0].notes}) == 1
    wrong = inject(midi, "wrong_notes", 0)
    moved = [
        abs(x.pitch - y.pitch)
        for x, y in zip(midi.instruments[0].notes, wrong.instruments[0].notes, strict=True)
    ]
    assert sum(m > 0 for m in moved) == pytest.approx(0.2 * len(moved), abs=1)
    assert max(moved) <= 2


# ---------------------------------------------------------------- the measures on a small fixed set (real scorer)

FIXED = "Schubert_D960_mv3_8bars_9_31"  # a TUNE performance (eval/splits/feedback_measures_split.json)


@pytest.fixture(scope="module")
def judged(shared_dir, tmp_path_factory):  # -> (Judge, Performance, expectation of its passage)
    from eval.feedback_measures import Judge, Performance, passage_expect

    judge = Judge(shared_dir, tmp_path_factory.mktemp("home"))
    perf = Performance(FIXED, "Schubert_D960_mv3_8bars_31")
    return judge, perf, passage_expect(judge, shared_dir)(perf)


@pytest.mark.parametrize(
    ("fault", "named"), [("pedal_held", "pedal_clarity"), ("flat_dynamics", "dynamic_range")]
)
def test_a_fault_is_named_and_the_clean_render_does_not_name_it(
    judged, shared_dir, fault: str, named: str
) -> None:
    """Against the other performers of the passage, the held pedal / flat velocities are named in the weak spots
    of the faulted render, and not in the clean render's."""
    from eval.faults import load_midi
    from eval.feedback_measures import weak_dims

    judge, perf, expected = judged
    midi = load_midi(perf.midi(shared_dir))
    clean = judge.report(midi, expected=expected)
    faulted = judge.report(inject(midi, fault, 0), expected=expected)
    assert named in weak_dims(faulted) and named in FAULT_DIMENSIONS[fault]
    assert not FAULT_DIMENSIONS[fault] & set(weak_dims(clean))


def test_same_input_same_problems_and_shuffled_values_other_problems(judged, shared_dir) -> None:
    from eval.faults import load_midi
    from eval.feedback_measures import shuffled_spots, weak_dims

    judge, perf, expected = judged
    midi = load_midi(perf.midi(shared_dir))
    faulted = inject(midi, "pedal_held", 0)
    a, b = judge.report(faulted, expected=expected), judge.report(faulted, expected=expected)
    assert a.weak_spots == b.weak_spots and a.dimensions == b.dimensions
    assert weak_dims(a)
    assert set(shuffled_spots(a, judge.scorer.reference, judge.rmse, 7, expected)) != set(weak_dims(a))


def test_copying_counts_sentences_that_are_mostly_one_run_of_the_cited_passage(tmp_path) -> None:
    from eval.feedback_measures import copying, longest_common_run

    assert longest_common_run("a b c d e".split(), "x b c d y".split()) == 3
    book = "The wrist must remain loose while the fingers press the keys down to the bottom of the key bed."
    (tmp_path / "some-book.txt").write_text("Preface. " + book, encoding="utf-8")
    cite = {"n": 1, "chunk_id": "some_book:0003", "char_start": 9, "char_end": 9 + len(book)}
    copied = "The wrist must remain loose while the fingers press the keys down to the bottom [1]."
    own = "In bars 4 to 6 keep your wrist loose so the left-hand chords do not cover the tune [1]."
    out = copying([{"text": f"{copied}\n{own}", "citations": [cite]}], tmp_path)
    assert (out["sentences"], out["copied"]) == (2, 1)
    assert out["shares"][0] == 1.0 and out["shares"][1] < 0.3


def test_the_text_check_counts_feedback_that_names_the_fault_in_the_words_of_its_dimension() -> None:
    """``faults --text``: a row says whether the feedback text names the fault's dimension (clean and faulted)."""
    from eval.feedback_measures import faults_table, names_fault, summarise_faults

    said = "Clean pedalling at 0:00–0:15: pedal blurs the harmonies. Change the pedal with the harmony [1]."
    assert names_fault(said, frozenset({"pedal_clarity"}))
    praise = "Strength: your dynamic range was wide.\n\nTo refine: choose one passage, listening for timing."
    assert not names_fault(praise, frozenset({"dynamic_range"}))
    other = "Variety of tone colour at 0:05: monotonous tone. Make the crescendo louder and softer [1]."
    assert not names_fault(other, frozenset({"dynamic_range"}))  # dynamics words in advice on another problem
    assert names_fault("To refine: listen for the dynamic range.", frozenset({"dynamic_range"}))
    base = {"named_any": True, "clean_named_any": False, "named_top2": True, "clean_named_top2": False}
    rows = [
        base | {"fault": "pedal_held", "text_named": True, "clean_text_named": False},
        base | {"fault": "pedal_held", "text_named": False, "clean_text_named": True},
    ]
    summary = summarise_faults(rows)
    assert summary["pedal_held"]["text_named"] == 1 and summary["all"]["clean_text_named"] == 1
    assert "| pedal_held | 2 | 1 | 1 |" in faults_table(summary)
    assert "text" not in faults_table(summarise_faults([base | {"fault": "jitter"}]))
