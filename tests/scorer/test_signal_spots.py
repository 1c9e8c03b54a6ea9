"""Measured weak spots (scorer.inference.signal_spots, issue 18): the measures on constructed notes, and on a
real PercePiano performance (Schubert D960 iii, a TUNE passage of eval/splits/feedback_measures_split.json)
with one fault injected (eval.faults): its MIDI with the player's own pedalling, its fluidsynth render through
basic-pitch, and the render through the scorer service. A perceptual spot that a clearly normal exact measure
contradicts is dropped (constructed evidence and the same performance's MIDI)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scorer.inference import signal_spots as sig
from scorer.inference.features import FEATURE_SR, Notes
from scorer.schema import Spot

KEY = "Schubert_D960_mv3_8bars_4_06"
SPANS = [(0.0, 8.0)]


def _notes(onsets, pitches, *, length=0.3, velocity=64, pedal=()) -> Notes:
    on = np.asarray(onsets, dtype=float)
    vel = np.broadcast_to(np.asarray(velocity, dtype=float), on.shape).copy()
    return Notes(on, on + length, np.asarray(pitches, dtype=float), vel, list(pedal))


# ---------------------------------------------------------------- measures on constructed notes


def test_a_scale_under_one_long_pedal_blurs_and_without_pedal_does_not() -> None:
    scale = [60, 62, 64, 65, 67, 69, 71, 72] * 3
    onsets = np.arange(len(scale)) * 0.5
    dry = _notes(onsets, scale)
    held = _notes(onsets, scale, pedal=[(0.0, 13.0)])
    assert sig.blur_from_notes(dry) == 0.0
    assert sig.blur_from_notes(held) >= sig.BLUR_MIDI
    # a pedal changed with every note (legato pedalling of a melody) carries nothing a step away for long
    changed = _notes(onsets, scale, pedal=[(t + 0.05, t + 0.5) for t in onsets])
    assert sig.blur_from_notes(changed) < sig.BLUR_MIDI


def test_one_harmony_under_the_pedal_is_not_blur() -> None:
    arpeggio = [48, 55, 60, 64, 67, 72] * 4  # C major broken chord: nothing a step apart
    onsets = np.arange(len(arpeggio)) * 0.25
    assert sig.blur_from_notes(_notes(onsets, arpeggio, pedal=[(0.0, 7.0)])) == 0.0


def _posteriors(chords: list[tuple[int, ...]], seconds: float = 2.0, ring: bool = False, struck: float = 0.9):
    """basic-pitch-like posteriors of ``chords`` (MIDI pitches) played one after another, ``seconds`` each,
    every note struck at its chord's start (onset posterior ``struck``); ``ring``: every note keeps sounding
    to the end (a held pedal)."""
    from scorer.inference.note_evidence import Posteriorgram

    rate = 50
    frames = int(len(chords) * seconds * rate)
    onset = np.zeros((frames, 88), dtype=np.float32)
    note = np.zeros((frames, 88), dtype=np.float32)
    for i, chord in enumerate(chords):
        a, b = int(i * seconds * rate), int((i + 1) * seconds * rate)
        for pitch in chord:
            onset[a, pitch - 21] = struck
            note[a : frames if ring else b, pitch - 21] = 0.8
    return Posteriorgram(onset, note, np.arange(frames) / rate)


def test_harmonies_piling_up_under_a_held_pedal_are_crowded_and_one_at_a_time_are_not() -> None:
    """C major, A minor, F major, G major a third apart (no old note a step from a new one at the change
    from C to A minor): played cleanly, at most 4 pitch classes sound; held, they pile up to 7."""
    chords = [(48, 52, 55, 60), (45, 48, 52, 57), (41, 45, 48, 53), (43, 47, 50, 55)]
    clean, held = _posteriors(chords), _posteriors(chords, ring=True)
    assert sig.crowding_from_posteriors(clean) == 0.0
    assert sig.crowding_from_posteriors(held) >= sig.CROWDED_AUDIO
    assert sig.crowding_from_posteriors(held, 0.0, 2.0) == 0.0  # the first chord alone is one harmony
    assert sig.pedal_measure([(0.0, 8.0)], None, clean) is None
    # onsets heard too faintly for the step-clash measure (no blur): the crowding still names the pedal
    faint = _posteriors(chords, ring=True, struck=0.3)
    assert sig.blur_from_posteriors(faint) == 0.0
    measure = sig.pedal_measure([(0.0, 4.0), (4.0, 8.0)], None, faint)
    assert measure is not None and measure.dimension == "pedal_clarity" and "ring together" in measure.reason
    assert (measure.start_s, measure.end_s) == (4.0, 8.0)  # the piling up is in the second half


def test_velocity_spread_and_melody_margin() -> None:
    onsets = np.repeat(np.arange(12) * 0.5, 3)
    pitches = np.tile([48, 55, 72], 12)
    rng = np.random.default_rng(0)
    shaped = rng.integers(40, 90, onsets.size).astype(float)
    assert (sig.velocity_spread(_notes(onsets, pitches, velocity=shaped)) or 0.0) > sig.FLAT_VELOCITY
    assert sig.velocity_spread(_notes(onsets, pitches, velocity=64)) == 0.0
    sung = np.tile([50.0, 50.0, 75.0], 12)  # melody on top, louder
    buried = np.tile([90.0, 90.0, 45.0], 12)
    found = sig.melody_margin(_notes(onsets, pitches, velocity=sung))
    assert found is not None and found[0] == 25.0 and found[1] == 0
    found = sig.melody_margin(_notes(onsets, pitches, velocity=buried))
    assert found is not None and found[0] == -45.0 and found[1] == found[2] == 12
    assert sig.melody_margin(_notes(onsets[:6], pitches[:6])) is None  # too few chords to say


def test_chord_spreads_measures_notes_written_together() -> None:
    played = _notes([0.0, 0.01, 0.5, 0.62, 1.0], [60, 64, 60, 64, 67])
    score_onsets = np.array([0.0, 0.0, 0.5, 0.5, 1.0])
    pairs = np.array([[0, 0], [1, 1], [2, 2], [3, 3], [4, 4]])
    spreads, times = sig.chord_spreads(played, score_onsets, pairs)
    assert np.allclose(spreads, [0.01, 0.12]) and np.allclose(times, [0.0, 0.5])


def test_timing_measure_names_chords_apart_and_the_wander() -> None:
    spreads = np.full(10, 0.09)
    measure = sig.timing_measure(spreads, np.arange(10.0), None)
    assert measure is not None and measure.dimension == "timing_stability"
    assert "90 ms apart" in measure.reason and measure.severity >= sig.SEVERITY_AT_THRESHOLD
    assert sig.timing_measure(np.full(10, 0.02), np.arange(10.0), None) is None


def _chords(shift) -> Notes:
    """20 three-note chords (C-E-G over a bass C, a chord's width apart), 0.5 s apart; ``shift(i, j)`` moves
    the j-th note of the i-th chord (seconds)."""
    onsets, pitches = [], []
    for i in range(20):
        for j, pitch in enumerate((48, 60, 64, 67)):
            onsets.append(i * 0.5 + shift(i, j))
            pitches.append(pitch)
    return _notes(onsets, pitches)


def test_chords_struck_together_or_rolled_one_way_are_steady_and_random_near_misses_are_not() -> None:
    """Without a score: the same chords struck together, broken 40 ms low pair then high pair (a deliberate
    spread, always the same way), and each note 30-70 ms early or late at random (unsteady hands)."""
    rng = np.random.default_rng(7)
    misses = rng.choice([-1.0, 1.0], size=(20, 4)) * rng.uniform(0.03, 0.07, size=(20, 4)) / 2
    together = sig.unordered_near_misses(_chords(lambda i, j: 0.0))
    rolled = sig.unordered_near_misses(_chords(lambda i, j: 0.04 * (j // 2)))  # upper pair after the lower
    unsteady = sig.unordered_near_misses(_chords(lambda i, j: misses[i, j]))
    assert (
        together is not None and together[0] == 0.0 and together[2] == 20 * 4
    )  # C3-C4 and C3-G4 (an octave, a twelfth) left out
    assert rolled is not None and rolled[0] == 0.0 and rolled[1] > 0  # apart, but one way
    assert unsteady is not None and unsteady[0] >= sig.UNORDERED_MIDI
    measure = sig.unordered_timing_measure(SPANS, _chords(lambda i, j: misses[i, j]), None)
    assert measure is not None and measure.dimension == "timing_stability"
    assert "no steady order" in measure.reason and measure.severity >= sig.SEVERITY_AT_THRESHOLD
    assert sig.unordered_timing_measure(SPANS, _chords(lambda i, j: 0.04 * (j // 2)), None) is None
    assert "(30-80 ms)" in measure.reason
    # an audio input's basic-pitch notes: the same reading with its own band (coarser onsets) and threshold
    heard = sig.unordered_timing_measure(SPANS, None, _chords(lambda i, j: misses[i, j]))
    assert heard is not None and "(40-90 ms)" in heard.reason
    assert sig.unordered_timing_measure(SPANS, None, None) is None


def test_near_misses_leave_out_steps_overtones_and_too_few_pairs() -> None:
    # a trill (1 semitone) and octaves 50 ms apart are neither chords nor misses; 5 chords are too few to say
    trill = _notes(np.arange(40) * 0.05, [60, 61] * 20)
    octaves = _notes(np.arange(40) * 0.05, [48, 60] * 20)
    assert sig.unordered_near_misses(trill) is None and sig.unordered_near_misses(octaves) is None
    few = _notes([0.0, 0.05, 1.0, 1.04, 2.0, 2.06], [60, 64, 64, 60, 60, 67])
    assert sig.unordered_near_misses(few) is None
    # near misses with (almost) nothing struck together: no reference for "together", no measure
    apart_only = _notes(np.repeat(np.arange(20) * 0.5, 2) + np.tile([0.0, 0.05], 20), [60, 64, 67, 60] * 10)
    assert sig.unordered_near_misses(apart_only) is None


def test_a_measured_spot_replaces_the_perceptual_one_of_its_dimension() -> None:
    def spot(dim: str, severity: float, reason: str) -> Spot:
        return Spot(dimension=dim, start_s=0, end_s=8, score=0.5, severity=severity, reason=reason)

    perceptual = [spot("pedal_clarity", 0.4, "pedal clarity leans blurred"), spot("drama", 0.5, "x")]
    measured = [spot("pedal_clarity", 0.8, sig.MEASURED + "notes ring")]
    merged = sig.merge_signal_spots(perceptual, measured)
    assert [s.dimension for s in merged] == ["pedal_clarity", "drama"]
    assert sig.is_signal_spot(merged[0]) and not sig.is_signal_spot(merged[1])
    assert sig.merge_signal_spots(perceptual, []) == sorted(perceptual, key=lambda s: -s.severity)


def _perceptual(dim: str, start: float = 0.0, end: float = 8.0) -> Spot:
    return Spot(dimension=dim, start_s=start, end_s=end, score=0.5, severity=0.45, reason=f"{dim} leans x")


def test_a_clearly_normal_midi_measure_drops_the_perceptual_spot_and_a_fault_keeps_it() -> None:
    scale = [60, 62, 64, 65, 67, 69, 71, 72] * 3
    onsets = np.arange(len(scale)) * 0.3
    shaped = np.tile([40.0, 55, 70, 85, 95, 80, 60, 45], 3)  # velocity spread 45: clearly not flat
    dry = sig.Evidence(notes=_notes(onsets, scale, velocity=shaped))
    weak = [_perceptual("dynamic_range"), _perceptual("pedal_clarity"), _perceptual("balance")]
    assert [s.dimension for s in sig.merge_signal_spots(weak, [], dry)] == ["balance"]
    # all velocities equal and the pedal held: the measures agree with the model, nothing is dropped
    held = sig.Evidence(notes=_notes(onsets, scale, velocity=64, pedal=[(0.0, 8.0)]))
    assert sorted(s.dimension for s in sig.merge_signal_spots(weak, [], held)) == sorted(
        s.dimension for s in weak
    )
    # between the threshold and "clearly normal" (spread 12: not flat, not clearly wide) the model is kept
    narrow = _notes(onsets, scale, velocity=np.tile([58.0, 64, 70, 64], 6))
    assert sig.FLAT_VELOCITY < (sig.velocity_spread(narrow) or 0) < sig.CLEAR_VELOCITY
    assert not sig.contradicted(weak[0], sig.Evidence(notes=narrow))
    # a spot over a stretch with too few notes to measure is kept
    assert not sig.contradicted(_perceptual("dynamic_range", 20.0, 28.0), dry)


def test_steady_chords_and_beat_drop_a_perceptual_timing_spot_only_with_both_measured() -> None:
    from scorer.schema import BarReport

    def bars(dev_ms: float) -> list[BarReport]:
        return [
            BarReport(
                bar=i + 1,
                start_s=2.0 * i,
                end_s=2.0 * i + 2,
                expected=8,
                matched=8,
                missed=0,
                extra=0,
                wrong=0,
                onset_dev_ms=dev_ms,
            )
            for i in range(4)
        ]

    together = (np.full(10, 0.012), np.linspace(0.0, 7.5, 10))
    timing = _perceptual("timing_stability")
    assert sig.contradicted(timing, sig.Evidence(chord_spread=together, bar_reports=bars(9.0)))
    assert not sig.contradicted(timing, sig.Evidence(chord_spread=together))  # the beat not measured
    assert not sig.contradicted(timing, sig.Evidence(chord_spread=together, bar_reports=bars(45.0)))
    apart = (np.full(10, 0.04), np.linspace(0.0, 7.5, 10))  # below the spot threshold, not clearly together
    assert not sig.contradicted(timing, sig.Evidence(chord_spread=apart, bar_reports=bars(9.0)))
    assert not sig.contradicted(
        _perceptual("timing_stability", 30.0, 38.0),
        sig.Evidence(chord_spread=together, bar_reports=bars(9.0)),
    )


# ---------------------------------------------------------------- a real performance, faulted


@pytest.fixture(scope="module")
def midi(shared_dir: Path):
    from eval.faults import load_midi

    return load_midi(shared_dir / "data" / "percepiano" / "performance_midi" / f"{KEY}.mid")


def _faulted(midi, fault: str):
    from eval.faults import inject
    from eval.feedback_measures import _hash

    return midi if fault == "clean" else inject(midi, fault, int(_hash(f"{KEY}|{fault}")[:8], 16))


def _midi_spots(midi) -> dict[str, Spot]:
    from scorer.inference.features import notes_from_midi

    spots = sig.signal_spots(SPANS, notes=notes_from_midi(midi))
    return {s.dimension: s for s in spots}


def test_real_midi_dynamics_contradict_a_perceptual_little_range_spot_unless_flattened(midi) -> None:
    """The player's own velocities (spread well over 16 steps) contradict "little range"; with every velocity
    equal the measured spot replaces it instead, so the fault is still named."""
    from scorer.inference.features import notes_from_midi

    spot = _perceptual("dynamic_range")
    played = notes_from_midi(midi)
    assert (sig.velocity_spread(played) or 0) >= sig.CLEAR_VELOCITY
    assert sig.merge_signal_spots([spot], [], sig.Evidence(notes=played)) == []
    flat = notes_from_midi(_faulted(midi, "flat_dynamics"))
    merged = sig.merge_signal_spots([spot], sig.signal_spots(SPANS, notes=flat), sig.Evidence(notes=flat))
    assert [s.dimension for s in merged] == ["dynamic_range"] and sig.is_signal_spot(merged[0])


def test_midi_with_its_own_pedalling_gets_no_measured_spot(midi) -> None:
    from scorer.inference.features import notes_from_midi

    assert len(notes_from_midi(midi).pedal) >= 3  # the player pedals
    assert _midi_spots(midi) == {}


@pytest.mark.parametrize(
    ("fault", "dimension", "words"),
    [
        ("pedal_held", "pedal_clarity", "ring against new notes"),
        ("flat_dynamics", "dynamic_range", "loud and soft notes"),
        ("left_hand_loud", "balance", "accompaniment is louder than the melody"),
        ("jitter", "timing_stability", "in no steady order"),
    ],
)
def test_midi_fault_is_measured(midi, fault: str, dimension: str, words: str) -> None:
    spots = _midi_spots(_faulted(midi, fault))
    assert list(spots) == [dimension]
    assert words in spots[dimension].reason and spots[dimension].severity >= sig.SEVERITY_AT_THRESHOLD


@pytest.fixture(scope="module")
def heard(midi, tmp_path_factory: pytest.TempPathFactory):
    """fault -> (render, basic-pitch notes, posteriors) for the clean take and two faults."""
    from api.settings import Settings
    from eval.faults import midi_bytes
    from scorer.inference.render import render_midi_bytes
    from scorer.inference.transcribe import Transcriber

    soundfont = Settings(home=tmp_path_factory.mktemp("home")).soundfont
    transcriber = Transcriber(1)
    out = {}
    for fault in ("clean", "pedal_held", "flat_dynamics"):
        audio = render_midi_bytes(midi_bytes(_faulted(midi, fault)), soundfont, sr=FEATURE_SR)
        notes, post = transcriber.transcribe_with_evidence(audio, FEATURE_SR)
        out[fault] = (audio, notes, post)
    return out


def test_render_pedal_blur_and_flat_dynamics_are_measured_and_the_clean_render_is_not(heard) -> None:
    found = {}
    for fault, (audio, notes, post) in heard.items():
        spots = sig.signal_spots(SPANS, posteriors=post, audio=(audio, FEATURE_SR, notes))
        found[fault] = [s.dimension for s in spots]
    assert found == {"clean": [], "pedal_held": ["pedal_clarity"], "flat_dynamics": ["dynamic_range"]}
    clean = heard["clean"]
    assert sig.blur_from_posteriors(clean[2]) < sig.BLUR_AUDIO
    spread = sig.level_spread(sig.key_levels(clean[0], FEATURE_SR, clean[1]), clean[1])
    assert spread is not None and spread >= sig.FLAT_LEVEL_DB


@pytest.fixture(scope="module")
def scorer(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    from api.settings import Settings
    from scorer.inference.service import Scorer

    return Scorer.load(Settings(home=tmp_path_factory.mktemp("home"), shared_dir=shared_dir).scorer_config())


def _measured(report) -> list[Spot]:
    return [s for s in report.weak_spots if sig.is_signal_spot(s)]


def test_service_reports_the_measured_pedal_spot(heard, scorer) -> None:
    from scorer.inference.decode import Decoded

    audio = heard["pedal_held"][0]
    report = scorer.score_decoded(Decoded(audio, len(audio) / FEATURE_SR, None, "audio"))
    measured = _measured(report)
    assert [s.dimension for s in measured] == ["pedal_clarity"]
    assert report.weak_spots[0] == measured[0]  # direct evidence ranks first
    assert sum(s.dimension == "pedal_clarity" for s in report.weak_spots) == 1


def test_service_without_a_score_measures_unsteady_chords_in_a_jittered_render(midi, scorer) -> None:
    """An audio upload without a score: jittered onsets -> the measured timing spot from basic-pitch's notes
    (near misses in no steady order); the clean render's report has no measured timing spot."""
    from eval.faults import midi_bytes
    from scorer.inference.decode import Decoded
    from scorer.inference.render import render_midi_bytes

    found = {}
    for fault in ("clean", "jitter"):
        audio = render_midi_bytes(midi_bytes(_faulted(midi, fault)), scorer.config.soundfont, sr=FEATURE_SR)
        report = scorer.score_decoded(Decoded(audio, len(audio) / FEATURE_SR, None, "audio"))
        found[fault] = {s.dimension: s for s in _measured(report)}
    assert "timing_stability" not in found["clean"]
    timing = found["jitter"]["timing_stability"]
    assert "(40-90 ms)" in timing.reason and "no steady order" in timing.reason
    assert timing.severity >= sig.SEVERITY_AT_THRESHOLD


def test_service_with_the_score_measures_chords_apart_and_a_buried_melody(
    midi, scorer, shared_dir: Path
) -> None:
    """With the score: jittered onsets -> chord notes apart (timing, with bars); a loud left hand -> the melody
    buried (balance); the clean render -> neither."""
    from eval.faults import midi_bytes
    from scorer.inference.align import load_score
    from scorer.inference.decode import Decoded
    from scorer.inference.render import render_midi_bytes

    score = load_score(
        shared_dir / "data" / "percepiano" / "score_midi" / "Schubert_D960_mv3_8bars_Score_06.mid"
    )
    found = {}
    for fault in ("clean", "jitter", "left_hand_loud"):
        audio = render_midi_bytes(midi_bytes(_faulted(midi, fault)), scorer.config.soundfont, sr=FEATURE_SR)
        report = scorer.score_decoded(Decoded(audio, len(audio) / FEATURE_SR, None, "audio"), score=score)
        found[fault] = {s.dimension: s for s in _measured(report)}
    assert found["clean"] == {}
    timing = found["jitter"]["timing_stability"]
    assert "ms apart" in timing.reason and "from a steady local beat" in timing.reason and timing.bars
    assert "melody is buried" in found["left_hand_loud"]["balance"].reason
