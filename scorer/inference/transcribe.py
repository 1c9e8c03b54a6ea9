"""Audio -> notes with basic-pitch (Spotify's ONNX transcription model, weights inside the package).

Why: the strongest performance cues (inter-onset timing, velocity contour, legato overlap, chord
asynchrony, voicing) are properties of notes. Audio users get them from a transcription, MIDI users
from their file, and the same ``note_features`` serve both.

basic-pitch's own ``predict`` reads a file path and spreads ONNX over every core; we feed it the
decoded array and pin the session to a configurable number of threads, so that the service's
worker pool, not the model, decides how the cores are shared.
"""

from __future__ import annotations

import threading
from typing import Literal, Protocol

import numpy as np

from scorer.inference.features import Notes
from scorer.inference.note_decoding import decode_notes
from scorer.inference.note_evidence import Posteriorgram

BP_SR = 22050  # basic-pitch's input rate
# basic-pitch's defaults, except a shorter minimum note (fast passages have notes under 128 ms)
ONSET_THRESHOLD = 0.5
FRAME_THRESHOLD = 0.3
MIN_NOTE_MS = 58.0
# the ONNX graph's output names, as basic-pitch's own Model.predict maps them
# (the contour output, for pitch bends, is not read)
_OUTPUTS = {"note": "StatefulPartitionedCall:1", "onset": "StatefulPartitionedCall:2"}


TranscriberName = Literal["basic-pitch", "transkun"]


class NoteTranscriber(Protocol):
    """Audio -> Notes; what the note assessment needs from any transcriber."""

    def transcribe(self, audio: np.ndarray, sr: int = ...) -> Notes: ...


def load_transcriber(name: TranscriberName, threads: int = 1) -> NoteTranscriber:
    """The transcriber ``ScorerConfig.transcriber`` names: basic-pitch (fast, the default) or transkun
    (piano-specific, far more accurate; ~20x basic-pitch's time on 2 cores: eval/results/transcription.md).
    The embedded perceptual heads were trained on basic-pitch notes and keep using ``Transcriber``."""
    if name == "transkun":
        from scorer.inference.transkun_transcriber import TranskunTranscriber

        return TranskunTranscriber(threads)
    if name == "basic-pitch":
        return Transcriber(threads)
    raise ValueError(f"unknown transcriber: {name!r} (basic-pitch or transkun)")


class Transcriber:
    """One loaded basic-pitch model; ``transcribe`` is thread-safe."""

    def __init__(self, threads: int = 1) -> None:
        import onnxruntime as ort
        from basic_pitch import ICASSP_2022_MODEL_PATH

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, threads)
        opts.inter_op_num_threads = 1
        onnx_path = ICASSP_2022_MODEL_PATH if str(ICASSP_2022_MODEL_PATH).endswith(".onnx") else None
        if onnx_path is None:  # older basic-pitch releases default to the TF model path
            from pathlib import Path

            onnx_path = Path(ICASSP_2022_MODEL_PATH).parent / "nmp.onnx"
        self._session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._lock = threading.Lock()

    def _posteriors(self, audio: np.ndarray) -> dict[str, np.ndarray]:
        from basic_pitch.constants import AUDIO_N_SAMPLES, FFT_HOP
        from basic_pitch.inference import unwrap_output, window_audio_file

        overlap_frames = 30  # as basic-pitch's run_inference
        overlap_len = overlap_frames * FFT_HOP
        hop = AUDIO_N_SAMPLES - overlap_len
        padded = np.concatenate([np.zeros(overlap_len // 2, dtype=np.float32), audio.astype(np.float32)])
        windows = np.stack([w for w, _ in window_audio_file(padded, hop)])  # (n, samples, 1)
        outputs: dict[str, list[np.ndarray]] = {key: [] for key in _OUTPUTS}
        with self._lock:
            for start in range(0, len(windows), 8):
                result = self._session.run(list(_OUTPUTS.values()), {self._input: windows[start : start + 8]})
                for key, value in zip(_OUTPUTS, result, strict=False):
                    outputs[key].append(value)
        return {k: unwrap_output(np.concatenate(v), len(audio), overlap_frames) for k, v in outputs.items()}

    def transcribe(self, audio: np.ndarray, sr: int = BP_SR) -> Notes:
        """Notes (seconds, MIDI pitch, velocity 1-127; no pedal) of a mono clip."""
        return self.transcribe_with_evidence(audio, sr)[0]

    def transcribe_with_evidence(self, audio: np.ndarray, sr: int = BP_SR) -> tuple[Notes, Posteriorgram]:
        """The notes and the posteriors they were read from (the note assessment checks its claims there)."""
        from basic_pitch.constants import FFT_HOP
        from basic_pitch.note_creation import model_frames_to_time

        if sr != BP_SR:
            from scorer.inference.resample import resample

            audio = resample(audio, sr, BP_SR)
        posteriors = self._posteriors(audio)
        min_frames = int(round(MIN_NOTE_MS / 1000 * (BP_SR / FFT_HOP)))
        events = decode_notes(
            posteriors["note"],
            posteriors["onset"],
            onset_thresh=ONSET_THRESHOLD,
            frame_thresh=FRAME_THRESHOLD,
            min_note_len=min_frames,
        )
        events = sorted(events, key=lambda e: (e[0], e[2]))
        arr = lambda i: np.asarray([e[i] for e in events], dtype=np.float64)  # noqa: E731
        velocity = np.clip(np.round(arr(3) * 127), 1, 127) if events else np.zeros(0)
        notes = Notes(arr(0), arr(1), arr(2), velocity, [])
        times = model_frames_to_time(posteriors["note"].shape[0])
        return notes, Posteriorgram(
            posteriors["onset"], posteriors["note"], np.asarray(times, dtype=np.float64)
        )
