"""Decoding and probing of small WAV and MIDI files written by the test: mono at FEATURE_SR, and one
RecordingError line for each thing a user can get wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from scorer.errors import RecordingError, RecordingTooLarge
from scorer.inference.decode import decode, probe
from scorer.inference.features import FEATURE_SR

NO_SOUNDFONT = Path("/nonexistent.sf2")  # audio input never renders


def tone(path: Path, seconds: float, sr: int, *, channels: int = 1, amplitude: float = 0.3) -> Path:
    t = np.arange(int(seconds * sr)) / sr
    y = amplitude * np.sin(2 * np.pi * 440.0 * t)
    sf.write(str(path), np.column_stack([y] * channels) if channels > 1 else y, sr)
    return path


def midi(path: Path, notes: list[tuple[int, float, float]]) -> Path:
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    piano.notes += [pretty_midi.Note(velocity=80, pitch=p, start=s, end=e) for p, s, e in notes]
    pm.instruments.append(piano)
    pm.write(str(path))
    return path


def test_stereo_wav_at_feature_rate_decodes_to_mono(tmp_path: Path) -> None:
    decoded = decode(
        tone(tmp_path / "a.wav", 2.0, FEATURE_SR, channels=2), max_duration_s=60, soundfont=NO_SOUNDFONT
    )
    assert decoded.kind == "audio" and decoded.notes is None
    assert decoded.audio.dtype == np.float32 and decoded.audio.ndim == 1
    assert decoded.audio.shape == (2 * FEATURE_SR,)
    assert decoded.duration_s == pytest.approx(2.0)
    assert float(np.max(np.abs(decoded.audio))) == pytest.approx(0.3, abs=1e-3)


def test_other_rates_are_resampled(tmp_path: Path) -> None:
    decoded = decode(tone(tmp_path / "b.wav", 1.5, 44100), max_duration_s=60, soundfont=NO_SOUNDFONT)
    assert decoded.duration_s == pytest.approx(1.5, abs=1e-3)
    assert abs(len(decoded.audio) - int(1.5 * FEATURE_SR)) <= 2


def test_probe_reads_the_duration(tmp_path: Path) -> None:
    assert probe(tone(tmp_path / "c.wav", 3.0, 16000), 60) == pytest.approx(3.0)
    assert probe(midi(tmp_path / "m.mid", [(60, 0.0, 1.0), (64, 1.0, 2.5)]), 60) == pytest.approx(2.5)


@pytest.mark.parametrize(
    ("seconds", "amplitude", "message"),
    [
        (0.5, 0.3, "0.50 s long; at least 1 s is needed"),
        (2.0, 0.0, "the recording is silent"),
        (2.0, 1e-4, "the recording is silent"),
    ],
)
def test_short_or_silent_audio_is_refused(
    tmp_path: Path, seconds: float, amplitude: float, message: str
) -> None:
    path = tone(tmp_path / "d.wav", seconds, FEATURE_SR, amplitude=amplitude)
    with pytest.raises(RecordingError, match=message):
        decode(path, max_duration_s=60, soundfont=NO_SOUNDFONT)


def test_too_long_is_its_own_error(tmp_path: Path) -> None:
    path = tone(tmp_path / "e.wav", 3.0, 8000)
    with pytest.raises(RecordingTooLarge, match=r"e\.wav: recording is [0-9.]+ min long; the maximum is"):
        probe(path, 2.0)
    assert issubclass(RecordingTooLarge, RecordingError)


def test_missing_empty_and_junk_files(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="file not found: gone.wav"):
        probe(tmp_path / "gone.wav", 60)
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(RecordingError, match="empty.wav: the file is empty"):
        probe(tmp_path / "empty.wav", 60)
    (tmp_path / "junk.wav").write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(RecordingError, match="not a readable audio or MIDI file"):
        decode(tmp_path / "junk.wav", max_duration_s=60, soundfont=NO_SOUNDFONT)


def test_midi_without_notes_or_unreadable(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="the MIDI file has no notes"):
        probe(midi(tmp_path / "silent.mid", []), 60)
    (tmp_path / "bad.mid").write_bytes(b"MThd" + b"\x00" * 20)
    with pytest.raises(RecordingError, match="bad.mid: unreadable MIDI file"):
        probe(tmp_path / "bad.mid", 60)
