"""MIDI -> audio with Debian's fluidsynth, cached by content hash (training, robustness, MIDI input)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from scorer.errors import RecordingError, ScorerConfigError
from scorer.inference.children import die_with_parent

RENDER_SR = 22050
# fluidsynth's default gain (0.2) is very quiet; we render louder and peak-normalise afterwards so
# that training audio has the level of a typical user recording.
RENDER_GAIN = 0.8
PEAK = 0.9


def _fluidsynth() -> str:
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise ScorerConfigError(
            "fluidsynth is not installed (Debian package 'fluidsynth'); it renders MIDI to audio"
        )
    return exe


def render_midi_bytes(data: bytes, soundfont: Path, *, sr: int = RENDER_SR) -> np.ndarray:
    """Render MIDI bytes to peak-normalised mono float32 at ``sr``."""
    if not soundfont.is_file():
        raise ScorerConfigError(f"soundfont not found: {soundfont}")
    with tempfile.TemporaryDirectory(prefix="cadenza-render-") as tmp:
        mid = Path(tmp) / "in.mid"
        wav = Path(tmp) / "out.wav"
        mid.write_bytes(data)
        # dynamic sample loading: only the samples the file plays are read (the same audio; a large
        # soundfont such as MuseScore General loads in 0.4 s instead of 0.8-3 s)
        cmd = [
            _fluidsynth(),
            "-ni",
            "-q",
            "-o",
            "synth.dynamic-sample-loading=1",
            "-g",
            str(RENDER_GAIN),
            "-r",
            str(sr),
            "-F",
            str(wav),
            str(soundfont),
            str(mid),
        ]
        proc = subprocess.run(cmd, capture_output=True, timeout=600, preexec_fn=die_with_parent(os.getpid()))  # noqa: PLW1509 - prctl only
        if proc.returncode != 0 or not wav.is_file():
            raise RecordingError("could not render the MIDI file (fluidsynth failed)")
        audio, file_sr = sf.read(str(wav), dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 0:
        audio = audio * (PEAK / peak)
    return audio.astype(np.float32)


def cached_render(data: bytes, soundfont: Path, cache_dir: Path | None, *, sr: int = RENDER_SR) -> np.ndarray:
    """Render with a cache keyed by (MIDI bytes, soundfont name, rate, gain)."""
    if cache_dir is None:
        return render_midi_bytes(data, soundfont, sr=sr)
    key = hashlib.sha256(data + f"|{soundfont.name}|{sr}|{RENDER_GAIN}|{PEAK}".encode()).hexdigest()[:24]
    path = cache_dir / "render" / key[:2] / f"{key}.flac"
    if path.is_file():
        audio, _ = sf.read(str(path), dtype="float32")
        return audio
    audio = render_midi_bytes(data, soundfont, sr=sr)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.flac")
    sf.write(str(tmp), audio, sr, subtype="PCM_16")
    tmp.replace(path)
    return audio
