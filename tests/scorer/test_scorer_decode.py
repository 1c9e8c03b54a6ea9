"""Decoding and rejection: real files in every accepted format, and each kind of bad input."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from scorer.errors import RecordingError, RecordingTooLarge
from scorer.inference.decode import decode, probe
from scorer.inference.features import FEATURE_SR
from scorer.inference.service import probe_recording

EXAMPLE = "data/percepiano/examples/Beethoven_WoO80_var27_8bars_3_15.wav"


@pytest.fixture(scope="module")
def example(shared_dir: Path) -> Path:
    return shared_dir / EXAMPLE


def _decode(path: Path, settings, max_s: float | None = None):
    return decode(path, max_duration_s=max_s or settings.max_duration_s, soundfont=settings.soundfont)


def _tone(path: Path, seconds: float, sr: int = 44100, channels: int = 2, amp: float = 0.3) -> Path:
    t = np.arange(int(seconds * sr)) / sr
    y = amp * np.sin(2 * np.pi * 440 * t) * np.exp(-(t % 0.5) * 4)
    sf.write(str(path), np.stack([y] * channels, axis=1) if channels > 1 else y, sr)
    return path


def test_wav_is_decoded_to_mono_feature_rate(example: Path, settings) -> None:
    dec = _decode(example, settings)
    info = sf.info(str(example))
    assert dec.kind == "audio" and dec.notes is None
    assert dec.audio.ndim == 1
    assert dec.duration_s == pytest.approx(info.frames / info.samplerate, abs=0.01)
    assert probe_recording(example, settings.scorer_config()) == pytest.approx(dec.duration_s, abs=0.01)


@pytest.mark.parametrize("fmt", ["flac", "ogg", "mp3"])
def test_compressed_formats_decode(example: Path, settings, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"x.{fmt}"
    if fmt == "mp3":
        if shutil.which("ffmpeg") is None:
            pytest.fail("ffmpeg (Debian) is required for MP3 input")
        subprocess.run(
            ["ffmpeg", "-loglevel", "error", "-i", str(example), "-b:a", "96k", str(out)], check=True
        )
    else:
        y, sr = sf.read(str(example))
        sf.write(str(out), y, sr)
    dec = _decode(out, settings)
    assert abs(dec.duration_s - 14.35) < 0.2
    ref = _decode(example, settings).audio
    n = min(len(ref), len(dec.audio)) - 4096
    # same music: the decoded waveforms correlate (MP3 may shift by an encoder delay; search it)
    best = max(
        np.corrcoef(ref[2048 : 2048 + n // 2], dec.audio[2048 + s : 2048 + s + n // 2])[0, 1]
        for s in range(0, 2400, 8)
    )
    assert best > 0.9


def test_stereo_44k_is_accepted(settings, tmp_path: Path) -> None:
    dec = _decode(_tone(tmp_path / "t.wav", 3.0), settings)
    assert dec.duration_s == pytest.approx(3.0, abs=0.01)
    assert len(dec.audio) == pytest.approx(3.0 * FEATURE_SR, abs=2)


def test_midi_is_parsed_and_rendered(shared_dir: Path, settings) -> None:
    mid = shared_dir / "data/percepiano/performance_midi/Beethoven_WoO80_var27_8bars_3_15.mid"
    dec = _decode(mid, settings)
    assert dec.kind == "midi" and dec.notes is not None and len(dec.notes.onset) > 50
    assert 10 < dec.duration_s < 20
    assert np.abs(dec.audio).max() > 0.5  # normalised render, not fluidsynth's quiet default


def _error(path: Path, settings, max_s: float | None = None) -> str:
    with pytest.raises(RecordingError) as info:
        _decode(path, settings, max_s)
    msg = info.value.message
    assert "\n" not in msg and path.name in msg
    return msg


def test_rejections(settings, tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    assert "empty" in _error(empty, settings)
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio\n" * 50)
    assert "not a readable audio" in _error(text, settings)
    silent = tmp_path / "silent.wav"
    sf.write(str(silent), np.zeros(44100 * 3), 44100)
    assert "silent" in _error(silent, settings)
    short = _tone(tmp_path / "short.wav", 0.5)
    assert "at least 1 s" in _error(short, settings)
    long = _tone(tmp_path / "long.wav", 5.0)
    with pytest.raises(RecordingTooLarge):
        _decode(long, settings, max_s=4.0)
    bad_midi = tmp_path / "broken.mid"
    bad_midi.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02" + b"\xff" * 40)
    assert "unreadable MIDI" in _error(bad_midi, settings)


def test_midi_without_notes_is_rejected(settings, tmp_path: Path) -> None:
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    pm.instruments.append(pretty_midi.Instrument(0))
    path = tmp_path / "empty.mid"
    pm.write(str(path))
    assert "no notes" in _error(path, settings)


def test_probe_is_cheap_and_validates(settings, tmp_path: Path) -> None:
    with pytest.raises(RecordingError):
        probe(tmp_path / "missing.wav", settings.max_duration_s)
    assert probe(_tone(tmp_path / "ok.wav", 2.0), settings.max_duration_s) == pytest.approx(2.0, abs=0.01)


def test_cli_prints_one_line_errors(tmp_path: Path, settings) -> None:
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"\x00" * 1000)
    proc = subprocess.run(
        [sys.executable, "-m", "api.cli", "score", str(bad)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("cadenza: error: bad.mp3:"), proc.stderr
    assert "Traceback" not in proc.stderr
