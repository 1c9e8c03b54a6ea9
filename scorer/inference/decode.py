"""Input decoding and validation: audio (WAV, FLAC, OGG, MP3, anything ffmpeg reads) or MIDI.

Every rejection is an RecordingError with one line a user can act on.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scorer.errors import RecordingError, RecordingTooLarge
from scorer.inference.features import FEATURE_SR, Notes, notes_from_midi

MIN_DURATION_S = 1.0
# Peak below -60 dBFS: nothing a microphone would call playing (a quiet room is about -50 to -70).
SILENCE_PEAK = 1e-3
MIDI_SUFFIXES = {".mid", ".midi", ".smf", ".kar"}
# Containers libsndfile reads natively. Anything else (MP3, AAC, junk) goes to ffmpeg, whose stderr
# is captured: libsndfile's MP3 decoder prints resync notes straight to the process's stderr.
_SNDFILE_MAGIC = (b"RIFF", b"RF64", b"fLaC", b"OggS", b"FORM", b".snd", b"wvpk", b"caff")


@dataclass(frozen=True)
class Decoded:
    audio: np.ndarray  # mono float32 at FEATURE_SR
    duration_s: float
    notes: Notes | None  # set for MIDI input
    kind: str  # "audio" | "midi"


def _is_midi(path: Path, head: bytes) -> bool:
    return head.startswith(b"MThd") or path.suffix.lower() in MIDI_SUFFIXES


def _read_head(path: Path) -> bytes:
    if not path.exists():
        raise RecordingError(f"file not found: {path.name}")
    if not path.is_file():
        raise RecordingError(f"not a file: {path.name}")
    if path.stat().st_size == 0:
        raise RecordingError(f"{path.name}: the file is empty")
    with path.open("rb") as fh:
        return fh.read(16)


@contextmanager
def _named(path: Path, name: str | None) -> Iterator[None]:
    """Messages call the file ``name`` (what the user sent: an upload is stored under a generated name)."""
    try:
        yield
    except RecordingError as err:
        if not name or name == path.name:
            raise
        raise type(err)(err.message.replace(path.name, name), detail=err.detail) from err


def _check_duration(name: str, duration: float, max_duration_s: float) -> None:
    if duration < MIN_DURATION_S:
        raise RecordingError(
            f"{name}: recording is {duration:.2f} s long; at least {MIN_DURATION_S:.0f} s is needed"
        )
    if duration > max_duration_s:
        raise RecordingTooLarge(
            f"{name}: recording is {duration / 60:.1f} min long; the maximum is {max_duration_s / 60:.0f} min"
        )


def parse_midi(path: Path):  # -> pretty_midi.PrettyMIDI
    import pretty_midi

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            midi = pretty_midi.PrettyMIDI(io.BytesIO(path.read_bytes()))
    except Exception as err:  # mido/pretty_midi raise many types for corrupt files
        raise RecordingError(f"{path.name}: unreadable MIDI file ({type(err).__name__})") from err
    if not any(inst.notes for inst in midi.instruments if not inst.is_drum):
        raise RecordingError(f"{path.name}: the MIDI file has no notes")
    return midi


def _sndfile_container(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) in _SNDFILE_MAGIC


def _audio_duration(path: Path) -> float:
    """Duration without decoding the whole file (soundfile header, else audioread/ffmpeg)."""
    import soundfile as sf

    if _sndfile_container(path):
        try:
            info = sf.info(str(path))
            if info.frames > 0 and info.samplerate > 0:
                return info.frames / info.samplerate
        except Exception:  # a damaged header: let ffmpeg try
            pass
    import audioread

    try:
        with audioread.audio_open(str(path)) as f:
            return float(f.duration)
    except Exception as err:
        raise RecordingError(
            f"{path.name}: not a readable audio or MIDI file (WAV, FLAC, OGG, MP3 or MIDI expected)"
        ) from err


def _decoded_seconds(path: Path, limit_s: float) -> float:
    """Seconds of audio that really decode from the start, read up to ``limit_s``: a header can claim more
    than the file holds (a WAV cut to its 44-byte header says 10 s and holds nothing)."""
    import soundfile as sf

    if _sndfile_container(path):
        try:
            with sf.SoundFile(str(path)) as f:
                if f.frames > 0 and f.samplerate > 0:
                    return (
                        len(f.read(int(limit_s * f.samplerate) + 1, dtype="float32", always_2d=True))
                        / f.samplerate
                    )
        except Exception:  # damaged: let ffmpeg try
            pass
    import audioread

    try:
        with audioread.audio_open(str(path)) as f:
            bytes_per_second = 2 * f.channels * f.samplerate  # audioread yields 16-bit PCM
            got = 0
            for block in f:
                got += len(block)
                if got >= limit_s * bytes_per_second:
                    break
            return got / bytes_per_second
    except Exception as err:
        raise RecordingError(
            f"{path.name}: not a readable audio or MIDI file (WAV, FLAC, OGG, MP3 or MIDI expected)"
        ) from err


def probe(path: Path, max_duration_s: float, *, name: str | None = None) -> float:
    """Fast validation: the duration in seconds, or RecordingError; for audio, the first
    MIN_DURATION_S must decode. ``name`` is what messages call the file (default: its file name)."""
    with _named(path, name):
        if _is_midi(path, _read_head(path)):
            duration = float(parse_midi(path).get_end_time())
            _check_duration(path.name, duration, max_duration_s)
            return duration
        duration = _audio_duration(path)
        _check_duration(path.name, duration, max_duration_s)
        decoded = _decoded_seconds(path, MIN_DURATION_S)
        if decoded < MIN_DURATION_S:
            raise RecordingError(
                f"{path.name}: only {decoded:.2f} s of audio decodes (the file is cut short); "
                f"at least {MIN_DURATION_S:.0f} s is needed"
            )
        return duration


def _decode_audio(path: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    if _sndfile_container(path):
        try:
            y, sr = sf.read(str(path), dtype="float32", always_2d=True)
            return y.mean(axis=1), int(sr)
        except Exception:  # damaged: fall back to ffmpeg through audioread
            pass
    import librosa

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y, sr = librosa.load(str(path), sr=None, mono=True)
        return y.astype(np.float32), int(sr)
    except Exception as err:
        raise RecordingError(
            f"{path.name}: not a readable audio or MIDI file (WAV, FLAC, OGG, MP3 or MIDI expected)"
        ) from err


def decode(
    path: Path,
    *,
    max_duration_s: float,
    soundfont: Path,
    cache_dir: Path | None = None,
    name: str | None = None,
) -> Decoded:
    """Decode, validate and resample to mono FEATURE_SR; MIDI is rendered with fluidsynth. ``name`` is what
    messages call the file (default: its file name)."""
    with _named(path, name):
        return _decode(path, max_duration_s=max_duration_s, soundfont=soundfont, cache_dir=cache_dir)


def _decode(path: Path, *, max_duration_s: float, soundfont: Path, cache_dir: Path | None) -> Decoded:
    head = _read_head(path)
    if _is_midi(path, head):
        midi = parse_midi(path)
        _check_duration(path.name, float(midi.get_end_time()), max_duration_s)
        from scorer.inference.render import cached_render

        audio = cached_render(path.read_bytes(), soundfont, cache_dir, sr=FEATURE_SR)
        notes = notes_from_midi(midi)
        kind = "midi"
    else:
        _check_duration(path.name, _audio_duration(path), max_duration_s)
        y, sr = _decode_audio(path)
        if y.size == 0:
            raise RecordingError(f"{path.name}: the file contains no audio")
        if sr != FEATURE_SR:
            from scorer.inference.resample import resample

            y = resample(y, sr, FEATURE_SR)
        audio, notes, kind = y.astype(np.float32), None, "audio"
    duration = len(audio) / FEATURE_SR
    _check_duration(path.name, duration, max_duration_s)
    if not np.isfinite(audio).all() or float(np.max(np.abs(audio))) < SILENCE_PEAK:
        raise RecordingError(f"{path.name}: the recording is silent")
    return Decoded(audio, duration, notes, kind)
