"""Audio note errors checked on basic-pitch's posteriors (scorer/inference/note_evidence.py): the rules on
posteriors built by hand, then the whole audio path on fluidsynth renders of two PercePiano performances with
injected errors, with and without the posteriors (eval/bench_notes.py's machinery)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scorer.inference.features import Notes
from scorer.inference.note_evidence import EXTRA_ONSET, Posteriorgram, confirm_missed, verify_claims
from scorer.inference.note_match import NoteMatch

FPS = 100.0


def _posteriors(seconds: float = 3.0) -> Posteriorgram:
    frames = int(seconds * FPS)
    return Posteriorgram(np.zeros((frames, 88)), np.zeros((frames, 88)), np.arange(frames) / FPS)


def _sound(ev: Posteriorgram, time_s: float, pitch: int, onset: float, note: float = 0.8) -> None:
    f = int(time_s * FPS)
    ev.onset[f, pitch - 21] = onset
    ev.note[f : f + 30, pitch - 21] = note


def _notes(*rows: tuple[float, int]) -> Notes:
    onset = np.array([r[0] for r in rows], dtype=float)
    pitch = np.array([r[1] for r in rows], dtype=float)
    return Notes(onset, onset + 0.3, pitch, np.full(len(rows), 80.0), [])


def _match(pairs=(), wrong=(), missed=(), extra=()) -> NoteMatch:
    as2 = lambda x: np.array(x, dtype=np.int64).reshape(-1, 2)  # noqa: E731
    # identity time map: score seconds are performance seconds
    return NoteMatch(
        as2(pairs), as2(wrong), np.array(missed, dtype=np.int64), np.array(extra, dtype=np.int64),
        np.array([0.0, 3.0]), np.array([0.0, 3.0]),
    )  # fmt: skip


def test_posteriors_decide_missed_wrong_and_extra_claims() -> None:
    score = _notes((0.5, 60), (0.5, 64), (1.0, 62), (1.5, 67), (2.0, 72))
    played = _notes((0.5, 60), (1.0, 63), (1.5, 67), (1.52, 68), (2.3, 72))
    ev = _posteriors()
    for t, p in ((0.5, 60), (1.0, 63), (1.5, 67), (2.3, 72)):
        _sound(ev, t, p, onset=0.9)
    _sound(ev, 0.5, 64, onset=0.35, note=0.5)  # a soft inner note the decoder dropped: sounding
    _sound(ev, 1.52, 68, onset=EXTRA_ONSET + 0.1)  # struck beside the notated 67: extra
    m = _match(pairs=[(0, 0), (2, 3)], wrong=[(1, 2)], missed=[1, 4], extra=[3, 4])
    wrong, missed, extra = verify_claims(m, m.missed, m.extra, played, score, ev)
    assert wrong.tolist() == [[1, 2]]  # 62 unheard at 1.0, 63 played: a wrong note
    # 64 sounds (posteriors) -> not missed; 72 played 0.3 s late -> off time, neither missed nor extra
    assert missed.tolist() == []
    assert extra.tolist() == [3]


def test_a_second_ear_confirms_a_near_midi_transcriptions_missed_notes_by_their_onsets() -> None:
    """transkun's missed notes (judged like MIDI) stay only where basic-pitch hears no stroke of the pitch:
    a soft note struck at its place is not missed; a pitch struck only well before its place is."""
    score = _notes((0.5, 60), (1.0, 64), (2.0, 67))
    ev = _posteriors()
    _sound(ev, 1.0, 64, onset=0.45, note=0.4)  # a soft stroke transkun lost
    _sound(ev, 1.6, 67, onset=0.9)  # 67 struck 0.4 s early, no stroke at its place
    m = _match(missed=[0, 1, 2])
    assert confirm_missed(m, m.missed, score, ev).tolist() == [0, 2]


def test_a_substitution_whose_notated_pitch_sounds_is_an_extra_note_and_a_weak_one_nothing() -> None:
    score = _notes((1.0, 62))
    played = _notes((1.0, 62.0 + 1))
    ev = _posteriors()
    _sound(ev, 1.0, 62, onset=0.8)  # the notated note was played after all
    _sound(ev, 1.0, 63, onset=0.9)
    wrong, missed, extra = verify_claims(_match(wrong=[(0, 0)]), np.array([], dtype=np.int64),
                                         np.array([], dtype=np.int64), played, score, ev)  # fmt: skip
    assert wrong.size == 0 and missed.size == 0 and extra.tolist() == [0]
    weak = _posteriors()
    _sound(weak, 1.0, 62, onset=0.8)
    _sound(weak, 1.0, 63, onset=EXTRA_ONSET - 0.2)
    wrong, missed, extra = verify_claims(_match(wrong=[(0, 0)]), np.array([], dtype=np.int64),
                                         np.array([], dtype=np.int64), played, score, weak)  # fmt: skip
    assert wrong.size == 0 and extra.size == 0


def test_an_unheard_note_and_a_strong_slip_at_its_place_are_one_wrong_note_and_octaves_are_forgiven() -> None:
    score = _notes((1.0, 48), (1.0, 60), (1.0, 65), (2.0, 70))
    played = _notes((1.0, 48), (2.02, 71))
    ev = _posteriors()
    _sound(ev, 1.0, 48, onset=0.9)
    _sound(ev, 2.02, 71, onset=0.9)
    m = _match(pairs=[(0, 0)], missed=[1, 2, 3], extra=[1])
    wrong, missed, extra = verify_claims(m, m.missed, m.extra, played, score, ev)
    assert wrong.tolist() == [[1, 3]]  # 70 unheard, 71 struck there: "71 instead of 70"
    assert missed.tolist() == [2]  # 60 hides under its heard octave 48; 65 is plainly missing
    assert extra.size == 0


@pytest.mark.slow
def test_audio_errors_checked_on_posteriors_are_more_precise_and_invent_fewer(
    shared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two PercePiano performances, their clean renders and renders with injected wrong, missed and extra
    notes: checked on the posteriors, the audio path finds the injected errors more precisely (and no fewer of
    them) and invents fewer on the untouched renders than the rules without posteriors."""
    from eval import bench_notes, bench_transcription
    from scorer.config import NoteConfig

    monkeypatch.setattr(bench_transcription, "CACHE", tmp_path / "transcribe")
    percepiano = shared_dir / "data" / "percepiano"
    keys = ("Schubert_D960_mv2_16bars_9_08", "Beethoven_WoO80_var8_8bars_2_6")
    kinds = ("wrong", "missed", "extra", "mixed")
    results = {}
    for checked in (True, False):
        notes_of = bench_notes.Notes_from("audio", "fluidr3", "basic-pitch", 1)
        notes_of.evidence = checked
        perfs = [bench_notes.run_performance(k, kinds, notes_of, percepiano, NoteConfig()) for k in keys]
        tally = bench_notes.Tally()
        for cases in perfs:
            bench_notes.count_notes(cases, tally)
        results[checked] = (tally.prf(), bench_notes.false_claims(perfs))
    (found, invented), (found_old, invented_old) = results[True], results[False]
    assert found["f1"] > found_old["f1"] and found["precision"] > found_old["precision"], (found, found_old)
    assert found["tp"] >= found_old["tp"]
    assert invented["invented"] < invented_old["invented"]
