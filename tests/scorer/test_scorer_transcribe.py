"""basic-pitch transcription (the audio head's note features) and the shared-STFT window features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from scorer.inference.extract import TRANSCRIBED_PREFIX, transcribed_features, window_features
from scorer.inference.features import FEATURE_SR, audio_features, notes_from_midi
from scorer.inference.resample import resample
from scorer.inference.transcribe import Transcriber

KEY = "Beethoven_WoO80_var27_8bars_3_15"


@pytest.fixture(scope="module")
def example(shared_dir: Path) -> np.ndarray:
    y, sr = sf.read(
        str(shared_dir / "data/percepiano/examples" / f"{KEY}.wav"), dtype="float32", always_2d=True
    )
    return resample(y.mean(axis=1), sr, FEATURE_SR)


def test_transcription_finds_the_performed_notes(example: np.ndarray, shared_dir: Path) -> None:
    """The dataset's own rendering of a performance against that performance's MIDI: most notes are
    found with the right pitch near the right time."""
    truth = notes_from_midi(
        pretty_midi.PrettyMIDI(str(shared_dir / "data/percepiano/performance_midi" / f"{KEY}.mid"))
    )
    got = Transcriber(threads=1).transcribe(example, FEATURE_SR)
    assert 0.7 * len(truth.onset) <= len(got.onset) <= 1.5 * len(truth.onset)
    matched = 0
    # the rendering and the MIDI may be offset by a constant: align on the first onset
    shift = got.onset.min() - truth.onset.min()
    for t, p in zip(truth.onset, truth.pitch, strict=False):
        hit = np.flatnonzero((got.pitch == p) & (np.abs(got.onset - shift - t) <= 0.05))
        matched += int(hit.size > 0)
    assert matched / len(truth.onset) >= 0.6  # measured 0.72 (basic-pitch on this rendering)


def test_transcribed_features_are_named_apart_and_have_no_pedal_events(example: np.ndarray) -> None:
    notes = Transcriber(threads=1).transcribe(example, FEATURE_SR)
    rows = transcribed_features(notes, [(0.0, 7.0), (7.0, 14.0)])
    assert len(rows) == 2
    for row in rows:
        assert row and all(k.startswith(TRANSCRIBED_PREFIX) for k in row)
        assert not any(k.startswith(TRANSCRIBED_PREFIX + "pedal") for k in row)
        assert row[TRANSCRIBED_PREFIX + "n_notes_rate"] > 3  # a Beethoven variation: many notes per second


def test_window_features_share_one_stft_and_match_the_whole_clip(example: np.ndarray) -> None:
    """One span over the whole clip gives exactly the per-clip descriptors; shorter spans differ."""
    whole = audio_features(example)
    rows, notes = window_features(example, None, [(0.0, len(example) / FEATURE_SR), (0.0, 5.0)])
    assert notes == [{}, {}]
    for name, value in whole.items():
        assert rows[0][name] == pytest.approx(value, rel=1e-5, abs=1e-7), name
    assert rows[1]["duration_log"] == pytest.approx(np.log(5.0))
    assert rows[1] != rows[0]


def test_note_decoding_gives_basic_pitch_s_own_notes(example: np.ndarray) -> None:
    """The sort-based decoder returns exactly the notes of basic-pitch's decoder (argmax per note),
    on posteriors of a real recording (the example joined with itself: 2,000+ frames, many notes)."""
    from basic_pitch.constants import FFT_HOP
    from basic_pitch.note_creation import model_output_to_notes

    from scorer.inference.note_decoding import decode_notes
    from scorer.inference.transcribe import BP_SR, FRAME_THRESHOLD, MIN_NOTE_MS, ONSET_THRESHOLD

    transcriber = Transcriber(threads=1)
    posteriors = transcriber._posteriors(resample(np.tile(example, 3), FEATURE_SR, BP_SR))
    min_frames = int(round(MIN_NOTE_MS / 1000 * (BP_SR / FFT_HOP)))
    ours = decode_notes(
        posteriors["note"],
        posteriors["onset"],
        onset_thresh=ONSET_THRESHOLD,
        frame_thresh=FRAME_THRESHOLD,
        min_note_len=min_frames,
    )
    theirs_input = {k: v.copy() for k, v in posteriors.items()}
    theirs_input["contour"] = np.zeros(
        (len(posteriors["note"]), 264), dtype=np.float32
    )  # read only for bends
    _, theirs = model_output_to_notes(
        theirs_input,
        onset_thresh=ONSET_THRESHOLD,
        frame_thresh=FRAME_THRESHOLD,
        min_note_len=min_frames,
        min_freq=None,
        max_freq=None,
        include_pitch_bends=False,
        melodia_trick=True,
    )
    assert len(ours) > 500
    assert ours == [(float(s), float(e), int(p), float(a)) for s, e, p, a, _ in theirs]
