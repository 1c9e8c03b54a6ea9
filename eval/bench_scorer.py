"""`python -m eval.bench_scorer`: real-time factor of the embedded scorer on this machine.

Scores a 2-minute recording (PercePiano's example joined with itself) end to end through the
service, and, as a baseline in the same process, a bare decode + mel spectrogram of the same audio
(the least any audio model must do). Prints seconds of audio per second of wall time (x real time).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf


def main() -> None:
    from api.settings import Settings
    from scorer.inference.service import Scorer

    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    settings = Settings()
    example = settings.percepiano_dir / "examples" / "Beethoven_WoO80_var27_8bars_3_15.wav"
    y, sr = sf.read(str(example), dtype="float32", always_2d=True)
    y = y.mean(axis=1)
    reps = int(np.ceil(args.seconds * sr / len(y)))
    audio = np.tile(y, reps)[: int(args.seconds * sr)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.wav"
        sf.write(str(path), audio, sr)
        t0 = time.perf_counter()
        scorer = Scorer.load(settings.scorer_config())
        load_s = time.perf_counter() - t0
        scorer.score_path(path)  # warm-up (imports, first librosa calls)
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            scorer.score_path(path)
            times.append(time.perf_counter() - t)
        import librosa

        base = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            z, _ = sf.read(str(path), dtype="float32")
            librosa.feature.melspectrogram(y=z, sr=sr, n_fft=2048, hop_length=512)
            base.append(time.perf_counter() - t)
    dur = len(audio) / sr
    best, med = min(times), float(np.median(times))
    print(f"audio: {dur:.0f} s; model load {load_s:.2f} s; backend {scorer.backend}")
    print(f"embedded scorer: median {med:.2f} s -> {dur / med:.0f}x real time (best {dur / best:.0f}x)")
    print(f"baseline decode+mel: median {np.median(base):.3f} s -> {dur / np.median(base):.0f}x real time")
    print(f"scorer / baseline cost ratio: {med / np.median(base):.1f}")


if __name__ == "__main__":
    main()
