"""Note-level assessment (issue 17) on PercePiano's own MIDI with errors injected at known places: each
error type lands in the right bar with the right pitches, the untouched performance gets no wrong-note
claim there, messy practice (restart, start in the middle, one hand) is segmented, a slowed bar is
dragged, and the CLI names the wrong notes."""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from scorer.inference.align import NotatedScore, load_score
from scorer.inference.features import Notes, notes_from_midi
from scorer.inference.note_assessment import assess
from scorer.inference.note_spots import note_spots

PIECE = "Beethoven_WoO80_var8_8bars"


def _read(path: Path) -> Notes:
    import pretty_midi

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return notes_from_midi(pretty_midi.PrettyMIDI(str(path)))


def _make(onset: np.ndarray, offset: np.ndarray, pitch: np.ndarray, velocity: np.ndarray) -> Notes:
    order = np.lexsort((pitch, onset))
    return Notes(onset[order], offset[order], pitch[order], velocity[order], [])


@pytest.fixture(scope="module")
def data(shared_dir: Path) -> tuple[NotatedScore, Notes]:
    p = shared_dir / "data" / "percepiano"
    return load_score(p / "score_midi" / f"{PIECE}_Score_6.mid"), _read(
        p / "performance_midi" / f"{PIECE}_2_6.mid"
    )


def _bar_of(score: NotatedScore, result, perf: Notes, idx: np.ndarray) -> np.ndarray:
    """True bar (through the untouched alignment) of played notes."""
    m = result.details[0].match
    return score.numbers[score.bar_index(m.to_score_time(perf.onset[idx]))]


def test_the_acceptance_case_names_the_substituted_notes_and_their_bars(data) -> None:
    score, perf = data
    end = perf.offset.max()
    hit = (perf.onset >= 0.40 * end) & (perf.onset < 0.55 * end)
    shifted = Notes(perf.onset, perf.offset, np.where(hit, perf.pitch + 1, perf.pitch), perf.velocity, [])
    clean, bad = assess(perf, score), assess(shifted, score)
    true_bars = set(_bar_of(score, clean, perf, np.flatnonzero(hit)).tolist())
    assert {4, 5} <= true_bars <= {3, 4, 5}  # one note of the span is played just before bar 4
    wrong = [e for e in bad.note_errors if e.type == "wrong" and e.bar in true_bars]
    assert len(wrong) >= 0.95 * hit.sum()
    assert sum(e.played_pitch == (e.expected_pitch or 0) + 1 for e in wrong) >= 0.95 * len(wrong)
    # names spelled for the score's key: its MIDI writes "Eb"; the notes say C minor (a B natural is the
    # leading tone, never "A#"/"Cb"; an E-flat is "Eb", never "D#")
    assert set(score.keys) == {(-3, True)}
    names = [n for e in wrong for n in (e.expected_name, e.played_name)]
    assert all(names) and not {n[:2] for n in names if n} & {"D#", "A#", "G#", "Cb", "Fb"}
    assert any(n.startswith(("Eb", "Ab", "Bb")) for n in names if n)
    assert all(e.what() == f"{e.played_name} instead of {e.expected_name}" for e in wrong)
    # the untouched performance: no wrong-note claim in those bars, and no substitution becomes two errors
    assert not [e for e in clean.note_errors if e.type == "wrong" and e.bar in true_bars]
    c_clean = Counter((e.type, e.bar) for e in clean.note_errors)
    c_bad = Counter((e.type, e.bar) for e in bad.note_errors)
    assert all(c_bad[("extra", b)] <= c_clean[("extra", b)] + 1 for b in true_bars)
    spots = note_spots(bad.bars)
    assert spots[0].dimension == "wrong_notes" and {4, 5} <= set(spots[0].bars or []) <= true_bars
    assert "wrong notes" in spots[0].reason


def test_deleted_and_inserted_notes_are_missed_and_extra_in_their_bars(data) -> None:
    score, perf = data
    clean = assess(perf, score)
    rng = np.random.default_rng(3)
    # delete 6 notes of bar 3 (true bar from the clean alignment)
    bars = _bar_of(score, clean, perf, np.arange(perf.pitch.size))
    gone = rng.choice(np.flatnonzero(bars == 3), 6, replace=False)
    keep = np.setdiff1d(np.arange(perf.pitch.size), gone)
    # insert 4 notes in bar 6, a tritone above a played note, halfway to the next onset
    six = np.flatnonzero(bars == 6)[5:45:10]
    t = perf.onset[six] + 0.06
    played = _make(
        np.concatenate([perf.onset[keep], t]),
        np.concatenate([perf.offset[keep], t + 0.2]),
        np.concatenate([perf.pitch[keep], np.array([100, 102, 104, 106])]),  # far from any notated pitch
        np.concatenate([perf.velocity[keep], np.full(t.size, 60)]),
    )
    result = assess(played, score)
    base = Counter((e.type, e.bar) for e in clean.note_errors)
    got = Counter((e.type, e.bar) for e in result.note_errors)
    assert got[("missed", 3)] - base[("missed", 3)] == 6
    assert got[("extra", 6)] - base[("extra", 6)] == 4
    missed_pitches = sorted(
        e.expected_pitch or 0 for e in result.note_errors if e.type == "missed" and e.bar == 3
    )
    assert set(perf.pitch[gone].tolist()) <= set(missed_pitches)
    assert got[("wrong", 3)] == base[("wrong", 3)] and got[("wrong", 6)] == base[("wrong", 6)]


def test_the_score_played_back_exactly_has_no_errors(data) -> None:
    score, _ = data
    s = score.notes
    result = assess(Notes(s.onset * 1.3, s.offset * 1.3, s.pitch, np.full(s.pitch.size, 64), []), score)
    assert result.followed and result.note_errors == [] and result.restarts == 0
    assert [(b.bar, b.expected == b.matched) for b in result.bars] == [(b, True) for b in range(1, 9)]
    assert all(b.tempo_ratio is None or abs(b.tempo_ratio - 1) < 0.02 for b in result.bars)


def _cut(n: Notes, a: float, b: float, at: float) -> tuple[np.ndarray, ...]:
    s = (n.onset >= a) & (n.onset < b)
    return n.onset[s] - a + at, n.offset[s] - a + at, n.pitch[s], n.velocity[s]


def test_a_restart_two_bars_back_is_a_second_pass(data) -> None:
    score, perf = data
    clean = assess(perf, score)
    starts = {b.bar: b.start_s for b in clean.bars}
    # play to the start of bar 6, stop, start again at bar 4 and play to the end
    first, second = _cut(perf, 0, starts[6], 0), _cut(perf, starts[4], 99, starts[6] + 1.0)
    played = _make(*(np.concatenate([x, y]) for x, y in zip(first, second, strict=True)))
    result = assess(played, score)
    assert result.restarts == 1 and len(result.passes) == 2
    # pass 1 stops at bar 6's downbeat (its first chord may be struck, spread, just before)
    assert result.passes[0].first_bar == 1 and result.passes[0].last_bar in (5, 6)
    assert (result.passes[1].first_bar, result.passes[1].last_bar) == (4, 8)
    assert result.bars_covered == [1, 8]
    assert sorted((b.bar, b.pass_) for b in result.bars if b.bar in (4, 5)) == [
        (4, 1),
        (4, 2),
        (5, 1),
        (5, 2),
    ]
    # nothing invented for the stop: pass 1 has no missed note in bars 6-8
    assert not [e for e in result.note_errors if e.pass_ == 1 and e.bar and e.bar >= 7]
    dumped = result.bars[0].model_dump(mode="json")
    assert dumped["pass"] == 1 and "pass_" not in dumped


def test_starting_in_the_middle_reports_only_the_bars_played(data) -> None:
    score, perf = data
    clean = assess(perf, score)
    starts = {b.bar: b.start_s for b in clean.bars}
    result = assess(_make(*_cut(perf, starts[4], starts[7], 0.5)), score)
    assert result.bars_covered is not None and result.bars_covered[0] == 4 and result.restarts == 0
    assert result.bars_covered[1] in (6, 7)  # bar 7's first chord may be struck just before its time
    assert {4, 5, 6} <= {b.bar for b in result.bars} <= {4, 5, 6, 7}
    assert all(e.bar in (4, 5, 6, 7) for e in result.note_errors)
    assert not [e for e in result.note_errors if e.bar == 7 and e.type == "missed"]


def test_right_hand_alone_is_not_a_pile_of_missed_notes(data) -> None:
    score, _ = data
    s = score.notes
    upper = s.pitch >= 60
    result = assess(
        Notes(s.onset[upper], s.offset[upper], s.pitch[upper], np.full(upper.sum(), 64), []), score
    )
    assert result.followed and not [e for e in result.note_errors if e.type == "missed"]


def test_a_bar_played_slower_is_dragged_and_faster_rushed(data) -> None:
    score, _ = data
    s = score.notes
    for factor, flag in ((1.25, "dragged"), (0.8, "rushed")):
        lo, hi = score.downbeats[4], score.downbeats[5]  # bar 5
        warp = np.where(
            s.onset <= lo,
            s.onset,
            np.where(s.onset < hi, lo + (s.onset - lo) * factor, s.onset + (hi - lo) * (factor - 1)),
        )
        result = assess(Notes(warp, warp + 0.1, s.pitch, np.full(s.pitch.size, 64), []), score)
        flagged = [b.bar for b in result.bars if flag in b.flags]
        assert flagged == [5], (flag, [(b.bar, b.tempo_ratio) for b in result.bars])
        assert [s.dimension for s in note_spots(result.bars)] == [
            "dragging" if flag == "dragged" else "rushing"
        ]


def test_cli_prints_the_bar_table_and_names_wrong_notes(data, shared_dir: Path, tmp_path: Path) -> None:
    import pretty_midi

    p = shared_dir / "data" / "percepiano"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        midi = pretty_midi.PrettyMIDI(str(p / "performance_midi" / f"{PIECE}_2_6.mid"))
    for inst in midi.instruments:
        for n in inst.notes:
            if 7.0 <= n.start < 7.3:
                n.pitch += 1
    path = tmp_path / "take.mid"
    midi.write(str(path))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "score",
            str(path),
            "--score",
            str(p / "score_midi" / f"{PIECE}_Score_6.mid"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert " bar  start s notes" in run.stdout
    assert "bar 4, beat " in run.stdout and " instead of " in run.stdout


def _passage(shared_dir: Path, key: str) -> tuple[NotatedScore, Notes]:
    from scorer.training.dataset import score_midi_path

    p = shared_dir / "data" / "percepiano"
    return load_score(score_midi_path(p, key)), _read(p / "performance_midi" / f"{key}.mid")


def test_an_octave_slip_in_a_chord_that_lacks_a_note_pairs_with_its_own_note(shared_dir: Path) -> None:
    """Schubert D935 no. 3, performer 2: bar 2's chord at 3.5-3.6 s already lacks its 56 (the performer's
    own slip). Its 58 played an octave lower (46) is "58 -> 46 wrong", not "56 -> 46" (nearest pitch) plus a
    false "58 missed"."""
    score, perf = _passage(shared_dir, "Schubert_D935_no.3_4bars_2_46")
    hit = np.flatnonzero((perf.pitch == 58) & (np.abs(perf.onset - 3.62) < 0.1))
    assert hit.size == 1
    pitch = perf.pitch.copy()
    pitch[hit] = 46
    before = assess(perf, score).note_errors
    assert any(e.type == "missed" and e.bar == 2 and e.expected_pitch == 56 for e in before)
    errors = assess(Notes(perf.onset, perf.offset, pitch, perf.velocity, []), score).note_errors
    assert any(e.type == "wrong" and e.expected_pitch == 58 and e.played_pitch == 46 for e in errors)
    assert not any(e.type == "missed" and e.expected_pitch == 58 for e in errors)
    assert any(e.type == "missed" and e.bar == 2 and e.expected_pitch == 56 for e in errors)


def test_one_slip_among_many_notes_is_listed_but_no_weak_spot(data) -> None:
    """A single wrong note in the densest bar is in note_errors; the weak spots (what the feedback talks
    about) need more evidence than one slip among 20+ notes. Two bars played a semitone off stay a spot."""
    score, perf = data
    clean = assess(perf, score)
    dense = max(clean.bars, key=lambda b: b.expected)
    assert dense.expected >= 20 and not dense.wrong
    bars = _bar_of(score, clean, perf, np.arange(perf.pitch.size))
    one = np.flatnonzero(bars == dense.bar)[len(np.flatnonzero(bars == dense.bar)) // 2]
    pitch = perf.pitch.copy()
    pitch[one] += 1
    result = assess(Notes(perf.onset, perf.offset, pitch, perf.velocity, []), score)
    slip = [e for e in result.note_errors if e.type == "wrong" and e.bar == dense.bar]
    assert len(slip) == 1 and slip[0].played_pitch == slip[0].expected_pitch + 1  # type: ignore[operator]
    assert not [s for s in note_spots(result.bars) if s.dimension == "wrong_notes"]


def test_the_stumble_before_a_restart_is_not_reported_but_the_same_slip_elsewhere_is(data) -> None:
    """Bar 5's second half played a semitone off and then a restart at bar 4: the stumble that made the
    player stop is not listed as wrong notes of pass 1; the same slip in a take that plays on is."""
    score, perf = data
    clean = assess(perf, score)
    starts = {b.bar: b.start_s for b in clean.bars}
    mid5 = (starts[5] + starts[6]) / 2
    slip = (perf.onset >= mid5) & (perf.onset < starts[6])
    assert slip.sum() >= 3
    pitch = np.where(slip, perf.pitch + 1, perf.pitch)
    slipped = Notes(perf.onset, perf.offset, pitch, perf.velocity, [])
    plays_on = assess(slipped, score)
    assert len([e for e in plays_on.note_errors if e.type == "wrong" and e.bar == 5]) >= 3
    first, second = _cut(slipped, 0, starts[6], 0), _cut(perf, starts[4], 99, starts[6] + 1.0)
    played = _make(*(np.concatenate([x, y]) for x, y in zip(first, second, strict=True)))
    result = assess(played, score)
    assert result.restarts == 1
    assert not [e for e in result.note_errors if e.pass_ == 1 and e.bar == 5 and e.type == "wrong"]
    assert not [s for s in note_spots(result.bars) if s.dimension == "wrong_notes"]


def _tempo_warped(score: NotatedScore, factors: dict[int, float]) -> Notes:
    """The score played at its notated tempo, bar b (0-based index) ``factors[b]`` times as long."""
    s = score.notes
    db = np.append(score.downbeats, score.bar_ends[-1])
    lengths = np.diff(db) * np.array([factors.get(b, 1.0) for b in range(score.n_bars)])
    starts = np.concatenate([[db[0]], db[0] + np.cumsum(lengths)])
    b = score.bar_index(s.onset)
    on = starts[b] + (s.onset - db[b]) * lengths[b] / np.diff(db)[b]
    return Notes(on, on + 0.1, s.pitch, np.full(s.pitch.size, 64), [])


def test_a_closing_ritardando_is_not_dragging_and_the_bars_before_it_are_not_rushed(data) -> None:
    """The last three bars slow down step by step (a ritardando into the end): no bar is dragged, and the
    bars before it, at the notated tempo, are not rushed either. A bar taken slower that the music then
    leaves (bar 6 here) is still dragged."""
    score, _ = data
    n = score.n_bars
    rit = {n - 3: 1 / 0.9, n - 2: 1 / 0.75, n - 1: 1 / 0.6}
    result = assess(_tempo_warped(score, rit), score)
    assert not [(b.bar, b.flags, b.tempo_ratio) for b in result.bars if {"dragged", "rushed"} & set(b.flags)]
    dragged_then_rit = assess(_tempo_warped(score, {**rit, n - 3: 1.0, n - 4: 1.25}), score)
    assert [b.bar for b in dragged_then_rit.bars if "dragged" in b.flags] == [n - 3]


def _scale_score(
    tmp_path: Path, words: dict[int, str], fermata_bar: int | None, barline_fermata: int | None = None
) -> NotatedScore:
    """An 8-bar MusicXML score of quarter notes; ``words``: a direction at the start of a bar (rit.,
    accel., a tempo); a fermata on the last note of ``fermata_bar``, one on the barline closing
    ``barline_fermata``."""
    steps = "CDEFGAB"
    bars = []
    for n in range(1, 9):
        head = (
            "<attributes><divisions>1</divisions><time><beats>4</beats><beat-type>4</beat-type></time>"
            "<clef><sign>G</sign><line>2</line></clef></attributes>"
            if n == 1
            else ""
        )
        if n in words:
            head += f"<direction><direction-type><words>{words[n]}</words></direction-type></direction>"
        notes = "".join(
            f"<note><pitch><step>{steps[(n + k) % 7]}</step><octave>5</octave></pitch><duration>1</duration>"
            f"<type>quarter</type>{'<notations><fermata/></notations>' if n == fermata_bar and k == 3 else ''}</note>"
            for k in range(4)
        )
        if n == barline_fermata:
            notes += '<barline location="right"><fermata/></barline>'
        bars.append(f'<measure number="{n}">{head}{notes}</measure>')
    path = tmp_path / f"scale_{abs(hash((tuple(words.items()), fermata_bar, barline_fermata)))}.musicxml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><score-partwise version="4.0"><part-list>'
        '<score-part id="P1"><part-name>Piano</part-name></score-part></part-list>'
        f'<part id="P1">{"".join(bars)}</part></score-partwise>'
    )
    return load_score(path)


def _tempo_flags_of(score: NotatedScore, played: dict[int, float]) -> list[tuple[int, str]]:
    """(bar, rushed | dragged) of the score played with bars ``played`` times as long (``_tempo_warped``)."""
    bars = assess(_tempo_warped(score, played), score).bars
    return [(b.bar, f) for b in bars for f in b.flags if f in ("rushed", "dragged")]


def test_a_fermata_a_ritardando_and_an_accelerando_in_the_score_are_not_tempo_faults(tmp_path: Path) -> None:
    """MusicXML asks for time (a fermata in bar 4, rit. in bars 6-7, then a tempo) and for speed (accel. in
    bar 2, a tempo in bar 3): played so, no bar is rushed or dragged. The same playing against the bare
    score flags those bars."""
    marked = _scale_score(tmp_path, {2: "accel.", 3: "a tempo", 6: "rit.", 8: "a tempo"}, fermata_bar=4)
    bare = _scale_score(tmp_path, {}, fermata_bar=None)
    assert marked.notated_slower == (False, False, False, True, False, True, True, False)
    assert marked.notated_faster == (False, True, False, False, False, False, False, False)
    played = {1: 0.75, 3: 1.4, 5: 1.25, 6: 1.45}  # 0-based bar index: times as long as notated
    flags = {name: _tempo_flags_of(s, played) for name, s in (("marked", marked), ("bare", bare))}
    assert flags["marked"] == []
    assert {(2, "rushed"), (4, "dragged"), (7, "dragged")} <= set(flags["bare"])


def test_a_new_tempo_in_the_score_is_the_players_new_reference(tmp_path: Path) -> None:
    """A "Più mosso" at bar 5 and "Tempo I" at bar 7, played so (bars 5-6 a third quicker): not rushed, and
    the bars around the change are not dragged; against the bare score bars 5-6 are rushed."""
    marked = _scale_score(tmp_path, {5: "Più mosso", 7: "Tempo I"}, fermata_bar=None)
    bare = _scale_score(tmp_path, {}, fermata_bar=None)
    assert marked.tempo_sections == (0, 0, 0, 0, 1, 1, 0, 0)
    played = {4: 0.75, 5: 0.75}
    flags = {name: _tempo_flags_of(s, played) for name, s in (("marked", marked), ("bare", bare))}
    assert flags["marked"] == []
    assert {(5, "rushed"), (6, "rushed")} <= set(flags["bare"])


@pytest.mark.parametrize(
    ("words", "barline_fermata", "slower", "sections"),
    [
        # Tempo I goes back to the first tempo even after a rit.
        (
            {3: "Meno mosso", 5: "rit.", 6: "Tempo I"},
            None,
            (0, 0, 0, 0, 1, 0, 0, 0),
            (0, 0, 1, 1, 1, 0, 0, 0),
        ),
        # "a tempo" ends the open rit. and stays in the current tempo
        ({3: "Più mosso", 5: "rit.", 6: "a tempo"}, None, (0, 0, 0, 0, 1, 0, 0, 0), (0, 0, 1, 1, 1, 1, 1, 1)),
        # expressive words are no tempo; rubato is no accelerando
        ({3: "espressivo", 5: "rubato", 6: "ten."}, None, (0,) * 8, (0,) * 8),
        # a fermata on the barline closing bar 4 belongs to bar 4
        ({}, 4, (0, 0, 0, 1, 0, 0, 0, 0), (0,) * 8),
    ],
)
def test_tempo_markings_read_as_a_player_would(
    tmp_path: Path, words: dict[int, str], barline_fermata: int | None, slower: tuple, sections: tuple
) -> None:
    score = _scale_score(tmp_path, words, fermata_bar=None, barline_fermata=barline_fermata)
    assert score.notated_slower == tuple(bool(x) for x in slower)
    assert score.notated_faster == (False,) * 8
    assert score.tempo_sections == sections


def _rolled(n: Notes, step_s: float = 0.04, together_s: float = 0.03) -> Notes:
    """Every chord (notes starting within ``together_s`` of its first) rolled upwards, ``step_s`` apart."""
    on, off = n.onset.copy(), n.offset.copy()
    i = 0
    while i < on.size:
        j = i
        while j + 1 < on.size and n.onset[j + 1] - n.onset[i] <= together_s:
            j += 1
        chord = np.arange(i, j + 1)
        for k, q in enumerate(chord[np.argsort(n.pitch[chord], kind="stable")]):
            on[q] = n.onset[i] + step_s * k
            off[q] = max(off[q], on[q] + 0.05)
        i = j + 1
    return _make(on, off, n.pitch, n.velocity)


@pytest.mark.parametrize(
    "take, piece",
    [
        ("Schubert_D935_no.3_4bars_12_1", "Schubert_D935_no.3_4bars_Score_1"),
        ("Beethoven_WoO80_var8_8bars_11_6", "Beethoven_WoO80_var8_8bars_Score_6"),
    ],
)
def test_rolled_chords_are_not_missed_notes(shared_dir: Path, take: str, piece: str) -> None:
    """A chord rolled beside the same key in the next chord let the path pair the key with the later notated
    note: the earlier one read as missed and the later stroke as extra (probe, 2026-12-07: each of these
    takes gained two missed notes before one key's notes were re-paired in order)."""
    p = shared_dir / "data" / "percepiano"
    score = load_score(p / "score_midi" / f"{piece}.mid")
    played = _read(p / "performance_midi" / f"{take}.mid")

    def claims(notes: Notes) -> Counter:
        return Counter(
            (e.type, e.bar, e.expected_pitch, e.played_pitch) for e in assess(notes, score).note_errors
        )

    new = claims(_rolled(played)) - claims(played)
    assert not [k for k in new if k[0] == "missed"], new


def _metred_score(
    tmp_path: Path, bars: list[tuple[int, int, int]], name: str, pickup: bool = False
) -> NotatedScore:
    """A MusicXML score of quarter notes; ``bars``: (beats, beat type, quarter notes) per bar, the time
    signature written where it changes; ``pickup``: the first bar an implicit (anacrusis) bar."""
    steps, measures, previous = "CDEFGAB", [], None
    for n, (beats, beat_type, quarters) in enumerate(bars):
        head = (
            "<attributes><divisions>1</divisions><clef><sign>G</sign><line>2</line></clef></attributes>"
            if n == 0
            else ""
        )
        if (beats, beat_type) != previous:
            head += f"<attributes><time><beats>{beats}</beats><beat-type>{beat_type}</beat-type></time></attributes>"
            previous = (beats, beat_type)
        notes = "".join(
            f"<note><pitch><step>{steps[(n + k) % 7]}</step><octave>5</octave></pitch><duration>1</duration>"
            "<type>quarter</type></note>"
            for k in range(quarters)
        )
        implicit = ' implicit="yes"' if pickup and n == 0 else ""
        measures.append(f'<measure number="{n if pickup else n + 1}"{implicit}>{head}{notes}</measure>')
    path = tmp_path / f"{name}.musicxml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><score-partwise version="4.0"><part-list>'
        '<score-part id="P1"><part-name>Piano</part-name></score-part></part-list>'
        f'<part id="P1">{"".join(measures)}</part></score-partwise>'
    )
    return load_score(path)


def test_a_change_of_beat_unit_and_a_pickup_are_no_tempo_faults(tmp_path: Path) -> None:
    """Rushing and dragging compare pace, not beats per minute: 2/2 then 2/4 at one steady quarter pulse is
    in time (per beat the 2/2 bars read half as fast: the probe of 2026-12-07 saw them dragged at 0.47), and
    a pickup's one note, taken a little slowly, is no dragged bar. A bar really played slower still is."""
    cut = _metred_score(tmp_path, [(2, 2, 4)] * 4 + [(2, 4, 2)] * 6, "cut_time")
    ratios = [b.tempo_ratio for b in assess(_tempo_warped(cut, {}), cut).bars if b.tempo_ratio]
    assert len(ratios) >= 8 and ratios == pytest.approx([1.0] * len(ratios), abs=0.02)
    assert _tempo_flags_of(cut, {}) == []
    assert _tempo_flags_of(cut, {6: 1.4}) == [(7, "dragged")]
    upbeat = _metred_score(tmp_path, [(4, 4, 1)] + [(4, 4, 4)] * 6, "upbeat", pickup=True)
    assert upbeat.pickup_beats == 3 and int(upbeat.numbers[0]) == 0
    assert _tempo_flags_of(upbeat, {0: 1.6}) == []


def test_a_trill_played_out_is_no_error_and_bends_no_bar(shared_dir: Path) -> None:
    """Beethoven WoO 80 theme, player 1: the long A-flat of the bar-6 chord marked with a trill and played
    as one, alternating with A to the player's own key release (~8 strokes a second, past the next downbeat).
    Its strokes paired with the notes after it that share their keys and bent the time map: missed and extra
    notes and a rushed and a dragged bar that the untouched take does not have (probe, 2026-12-07). The
    strokes are now left out of the match; nothing is added to the untouched take's report."""
    import dataclasses

    p = shared_dir / "data" / "percepiano"
    score = load_score(p / "score_midi" / "Beethoven_WoO80_thema_8bars_Score_1.mid")
    played = _read(p / "performance_midi" / "Beethoven_WoO80_thema_8bars_1_1.mid")
    untouched = assess(played, score)
    pairs = untouched.details[0].match.pairs
    p_note = int(np.flatnonzero((played.pitch == 68) & (np.abs(played.onset - 12.53) < 0.02))[0])
    s_note = int(pairs[pairs[:, 0] == p_note, 1][0])
    view = untouched.score_notes
    assert view is not None
    orn = np.zeros(score.notes.pitch.size, dtype=bool)
    orn[
        (score.notes.pitch == view.pitch[s_note]) & (np.abs(score.notes.onset - view.onset[s_note]) < 1e-6)
    ] = True
    trilled = dataclasses.replace(score, ornament=orn)
    strokes = np.arange(played.onset[p_note] + 0.125, played.offset[p_note] - 0.05, 0.125)
    keys = np.where(np.arange(strokes.size) % 2 == 0, 69, 68)
    offset = played.offset.copy()
    offset[p_note] = played.onset[p_note] + 0.11
    with_trill = _make(
        np.concatenate([played.onset, strokes]),
        np.concatenate([offset, strokes + 0.11]),
        np.concatenate([played.pitch, keys]),
        np.concatenate([played.velocity, np.full(strokes.size, 60)]),
    )
    assert strokes.size >= 10

    def claims(result) -> Counter:  # type: ignore[no-untyped-def]
        return Counter((e.type, e.bar, e.expected_pitch, e.played_pitch) for e in result.note_errors)

    def tempo_flags(result) -> set:  # type: ignore[no-untyped-def]
        return {(b.bar, f) for b in result.bars for f in b.flags if f in ("rushed", "dragged")}

    result = assess(with_trill, trilled)
    assert not claims(result) - claims(untouched)
    assert not tempo_flags(result) - tempo_flags(untouched)


@pytest.mark.parametrize(
    "take, piece",
    [
        ("Schubert_D935_no.3_4bars_12_1", "Schubert_D935_no.3_4bars_Score_1"),
        ("Schubert_D960_mv2_8bars_1_03", "Schubert_D960_mv2_8bars_Score_03"),
    ],
)
def test_a_played_repeat_hands_no_note_across_the_jump(shared_dir: Path, take: str, piece: str) -> None:
    """Bars 1-2 under a repeat sign, played twice: the segmentation handed the second pass's first note to
    the first pass (a wrong note in bar 3 there, a missed note in bar 1 here: probe, 2026-12-07). Each
    boundary now moves by a few notes to where it leaves fewest errors: no claim the untouched take lacks."""
    import dataclasses

    p = shared_dir / "data" / "percepiano"
    score = load_score(p / "score_midi" / f"{piece}.mid")
    played = _read(p / "performance_midi" / f"{take}.mid")
    untouched = assess(played, score)
    bar3 = int(score.numbers[2])
    start, cut = untouched.bars[0].start_s - 0.05, next(b.start_s for b in untouched.bars if b.bar == bar3)
    twice = (played.onset >= start) & (played.onset < cut)
    later = played.onset >= cut
    gap = cut - start
    repeated = _make(
        np.concatenate([np.where(later, played.onset + gap, played.onset), played.onset[twice] + gap]),
        np.concatenate(
            [np.where(later, played.offset + gap, played.offset), np.minimum(played.offset[twice], cut) + gap]
        ),
        np.concatenate([played.pitch, played.pitch[twice]]),
        np.concatenate([played.velocity, played.velocity[twice]]),
    )
    with_repeat = dataclasses.replace(
        score, repeats=((float(score.downbeats[0]), float(score.downbeats[2])),)
    )
    result = assess(repeated, with_repeat)
    assert [(q.first_bar, q.last_bar) for q in result.passes][1:] == [(1, int(score.numbers[-1]))]
    assert result.restarts == 0

    def claims(errors) -> Counter:  # type: ignore[no-untyped-def]
        return Counter((e.type, e.bar, e.expected_pitch, e.played_pitch) for e in errors)

    own = claims(untouched.note_errors)
    own_in_repeat = claims(e for e in untouched.note_errors if e.bar <= 2)  # played twice: reported twice
    assert not claims(result.note_errors) - own - own_in_repeat


def test_a_pickup_written_as_a_short_first_bar_has_no_pace(shared_dir: Path) -> None:
    """Schubert D935 no. 3's score MIDI opens with a bar of 1/8 (the upbeat): its one note gave a "pace" of
    46% and the feedback told the player to take bar 1 "with more energy and speed" (probe, 2026-12-07)."""
    p = shared_dir / "data" / "percepiano"
    score = load_score(p / "score_midi" / "Schubert_D935_no.3_4bars_Score_25.mid")
    assert score.downbeats[1] - score.downbeats[0] < 0.5 * np.median(np.diff(score.downbeats))
    bars = assess(_read(p / "performance_midi" / "Schubert_D935_no.3_4bars_12_25.mid"), score).bars
    first = next(b for b in bars if b.bar == int(score.numbers[0]))
    assert first.tempo_ratio is None and not {"rushed", "dragged"} & set(first.flags)
