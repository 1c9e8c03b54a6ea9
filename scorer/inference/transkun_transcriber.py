"""Audio -> notes with transkun 2.0 (Yan & Duan, ISMIR 2024; MIT; its piano checkpoint ships in the wheel).

Why: basic-pitch is a general-purpose transcriber; transkun is trained on piano (MAESTRO) and also
gives velocity and sustain/soft pedal. It is the accurate mode (``CADENZA_SCORER_TRANSCRIBER=transkun``):
several times slower than basic-pitch on 2 cores (eval/results/transcription.md), so not the default.

transkun is installed without its declared dependencies (they pull torchaudio, moduleconf, ncls, ...):
its model needs only torch, plus ``torchaudio.functional.melscale_fbanks`` when it is built, which the
pure-torch stand-in in ``scorer.inference.torch_audio`` provides for the duration of the build only.
The config is read from the packaged JSON directly (no ``moduleconf``).

Speed levers (measured in eval/bench_transcription.py): ``quantize`` (torch dynamic int8 on the Linear
layers) and ``hop_s`` (transkun analyses 16-s segments every 8 s, so each sample twice; a longer hop
does less work at the cost of less context at segment edges).
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

TRANSKUN_SR = 44100
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


class TranskunTranscriber:
    """One loaded transkun model; ``transcribe`` is thread-safe (one clip at a time)."""

    def __init__(
        self,
        threads: int = 1,
        *,
        quantize: bool = False,
        hop_s: float | None = None,
        segment_s: float | None = None,
    ) -> None:
        self._model = _load_model(threads, quantize)
        self._hop_s, self._segment_s = hop_s, segment_s
        self._lock = threading.Lock()

    def transcribe(self, audio: np.ndarray, sr: int = TRANSKUN_SR) -> Notes:
        """Notes (seconds, MIDI pitch, velocity 1-127) and sustain/soft-pedal intervals of a mono clip."""
        import torch

        from scorer.inference.resample import resample

        y = resample(np.asarray(audio, dtype=np.float32), sr, TRANSKUN_SR)
        x = torch.from_numpy(np.ascontiguousarray(y[:, None]))  # (samples, channels), as transkun reads
        hop = self._hop_s if self._hop_s is not None else self._model.segmentHopSizeInSecond
        seg = self._segment_s if self._segment_s is not None else self._model.segmentSizeInSecond
        with self._lock, torch.inference_mode():
            events = self._model.transcribe(x, stepInSecond=hop, segmentSizeInSecond=seg)
        return notes_from_events(events)


def notes_from_events(events: list[Any]) -> Notes:
    """transkun's Note events (start, end, pitch, velocity; pedals as negative pitches) -> Notes."""
    keys = sorted((e for e in events if e.pitch > 0), key=lambda e: (e.start, e.pitch))
    sustain = sorted((float(e.start), float(e.end)) for e in events if e.pitch == SUSTAIN)
    soft = sorted((float(e.start), float(e.end)) for e in events if e.pitch == SOFT)

    def col(attr: str) -> np.ndarray:
        return np.asarray([float(getattr(e, attr)) for e in keys], dtype=np.float64)

    velocity = np.clip(np.round(col("velocity")), 1, 127)
    return Notes(col("start"), col("end"), col("pitch"), velocity, sustain, soft=soft)
