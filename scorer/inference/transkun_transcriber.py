"""Audio -> notes with transkun 2.0 (Yan & Duan, ISMIR 2024; MIT; its piano checkpoint ships in the wheel).

Why: basic-pitch is a general-purpose transcriber; transkun is trained on piano (MAESTRO) and also
gives velocity and sustain/soft pedal. It is the accurate mode (``CADENZA_SCORER_TRANSCRIBER=transkun``):
several times slower than basic-pitch on 2 cores (eval/results/transcription.md), so not the default.

transkun is installed without its declared dependencies (they pull torchaudio, moduleconf, ncls, ...):
its model needs only torch, plus ``torchaudio.functional.melscale_fbanks`` when it is built, which the
pure-torch stand-in in ``scorer.inference.torch_audio`` provides for the duration of the build only.
The config is read from the packaged JSON directly (no ``moduleconf``).

Speed levers (measured in eval/bench_transcription.py, eval/results/transcription.md): ``bf16``, the
forward pass under bfloat16 autocast, on by default where the CPU multiplies bfloat16 in hardware (AMX or
AVX512-BF16): ~1.8x faster, the same notes; ``hop_s``: a 16-s segment every 12 s rather than transkun's
every 8 s: 35% less work; the silence before and after the music is not analysed. Rejected:
``quantize`` (torch dynamic int8 on the Linear layers: no faster, and it ruins the notes).
"""

from __future__ import annotations

import json
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from scorer.errors import ScorerConfigError
from scorer.inference.features import Notes
from scorer.inference.levels import FRAME_S, frame_rms

TRANSKUN_SR = 44100
# transkun's own setting analyses 16-s segments every 8 s (each sample twice). A 4-s overlap costs 35% less
# and made the same errors on a 5-minute take; back to back (no overlap) loses notes at every segment start
# (eval/results/transcription.md)
SEGMENT_S, HOP_S = 16.0, 12.0
SUSTAIN, SOFT = -64, -67  # transkun's pseudo-pitches for the pedals


def _package_files() -> tuple[Path, Path]:
    try:
        root = resources.files("transkun") / "pretrained"
    except ModuleNotFoundError as err:
        raise ScorerConfigError(
            "transkun is not installed (.ci/setup.d/45-transkun.sh: pip install --no-deps transkun==2.0.1)"
        ) from err
    return Path(str(root / "2.0.pt")), Path(str(root / "2.0.conf"))


def _load_model(threads: int, quantize: bool) -> Any:
    import torch

    from scorer.inference.torch_audio import shimmed

    weights, conf_path = _package_files()
    with shimmed():  # transkun's MelSpectrum imports torchaudio in its constructor
        from transkun.ModelTransformer import TransKun

        conf = TransKun.Config()
        conf.__dict__.update(json.loads(conf_path.read_text())["Model"]["config"])
        model = TransKun(conf=conf)
    checkpoint = torch.load(str(weights), map_location="cpu", weights_only=False)
    state = checkpoint.get("best_state_dict", checkpoint.get("state_dict"))
    model.load_state_dict(state, strict=False)  # as transkun's own transcribe script
    model.eval()
    for module in model.modules():  # gradient checkpointing only costs time (and warns) at inference
        if hasattr(module, "useGradientCheckpoint"):
            module.useGradientCheckpoint = False
    if quantize:
        # every Linear but the position embeddings' input projections, whose forward reads .weight.device
        # (a quantised Linear's weight is a method); they are 2 -> 64 and cost nothing
        names = {
            name
            for name, module in model.named_modules()
            if isinstance(module, torch.nn.Linear) and not name.endswith(".proj")
        }
        model = torch.ao.quantization.quantize_dynamic(model, names, dtype=torch.qint8)
    torch.set_num_threads(max(1, threads))  # process-wide: torch has no per-model thread pool
    return model


def cpu_has_bf16_units() -> bool:
    """Does this CPU multiply bfloat16 in hardware? Elsewhere bf16 autocast is emulated and slower."""
    import torch

    for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):  # private, hence the guard
        check = getattr(torch.cpu, probe, None)
        if callable(check) and check():
            return True
    return False


class TranskunTranscriber:
    """One loaded transkun model; ``transcribe`` is thread-safe (one clip at a time)."""

    def __init__(
        self,
        threads: int = 1,
        *,
        quantize: bool = False,
        hop_s: float = HOP_S,
        segment_s: float = SEGMENT_S,
        bf16: bool | None = None,
    ) -> None:
        self._model = _load_model(threads, quantize)
        self._hop_s, self._segment_s = hop_s, segment_s
        self.bf16 = cpu_has_bf16_units() if bf16 is None else bf16
        self._lock = threading.Lock()

    def transcribe(self, audio: np.ndarray, sr: int = TRANSKUN_SR) -> Notes:
        """Notes (seconds, MIDI pitch, velocity 1-127) and sustain/soft-pedal intervals of a mono clip."""
        import torch

        from scorer.inference.resample import resample

        y = resample(np.asarray(audio, dtype=np.float32), sr, TRANSKUN_SR)
        first, last = sounding_span(y, TRANSKUN_SR)  # silence before and after costs segments, hears nothing
        if last <= first:
            return notes_from_events([])
        # (samples, channels), as transkun reads
        x = torch.from_numpy(np.ascontiguousarray(y[first:last, None]))
        with self._lock, torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=self.bf16):
            events = self._model.transcribe(x, stepInSecond=self._hop_s, segmentSizeInSecond=self._segment_s)
        return notes_from_events(events, shift_s=first / TRANSKUN_SR)


def sounding_span(
    y: np.ndarray, sr: int, *, floor_db: float = -60.0, margin_s: float = 0.5
) -> tuple[int, int]:
    """The samples from the first to the last 50-ms frame within ``floor_db`` of the loudest frame, with a
    margin; (0, 0) for a silent clip."""
    frame = max(1, int(round(sr * FRAME_S)))
    rms = frame_rms(y, sr)
    if rms.size == 0:
        return (0, len(y)) if len(y) and np.abs(y).max() > 0 else (0, 0)
    peak = float(rms.max())
    if peak <= 0:
        return 0, 0
    loud = np.flatnonzero(rms > peak * 10 ** (floor_db / 20))
    margin = int(margin_s * sr)
    return max(0, int(loud[0]) * frame - margin), min(len(y), (int(loud[-1]) + 1) * frame + margin)


def notes_from_events(events: list[Any], shift_s: float = 0.0) -> Notes:
    """transkun's Note events (start, end, pitch, velocity; pedals as negative pitches) -> Notes."""
    keys = sorted((e for e in events if e.pitch > 0), key=lambda e: (e.start, e.pitch))
    sustain = sorted((float(e.start), float(e.end)) for e in events if e.pitch == SUSTAIN)
    soft = sorted((float(e.start), float(e.end)) for e in events if e.pitch == SOFT)

    def col(attr: str) -> np.ndarray:
        return np.asarray([float(getattr(e, attr)) for e in keys], dtype=np.float64)

    def shifted(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(a + shift_s, b + shift_s) for a, b in intervals]

    velocity = np.clip(np.round(col("velocity")), 1, 127)
    return Notes(
        col("start") + shift_s,
        col("end") + shift_s,
        col("pitch"),
        velocity,
        shifted(sustain),
        soft=shifted(soft),
    )
