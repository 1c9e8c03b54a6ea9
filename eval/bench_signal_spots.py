"""The measures behind the measured weak spots (scorer/inference/signal_spots.py) on clean and faulted renders:
the figures their thresholds were chosen from (TUNE) and the robustness checks (another soundfont, room reverb).

    python -m eval.bench_signal_spots --part tune -n 21                        # one player per passage, 4 faults
    python -m eval.bench_signal_spots --part tune -n 80 --per-passage 4 --faults clean   # more clean takes
    python -m eval.bench_signal_spots --part tune -n 80 --per-passage 4 --faults clean,jitter  # timing, no score
    python -m eval.bench_signal_spots --part tune -n 80 --per-passage 4 --faults clean,pedal_held  # pedal
    python -m eval.bench_signal_spots --part tune -n 21 --faults clean,pedal_held,flat_dynamics \\
        --soundfont /usr/share/sounds/sf2/TimGM6mb.sf2                         # another piano sound
    python -m eval.bench_signal_spots --part tune -n 21 --reverb 1.5 ...     # + a 1.5 s room

Each take is rendered with fluidsynth and transcribed once with basic-pitch (notes and posteriors); with its
score MIDI the transcription and the MIDI are assessed against the score (eval.feedback_measures picks the
performances and their scores). One JSON line per render on stderr; the summary (per fault: n, min, median,
max of each measure and how many pass its threshold) on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from eval.faults import inject, load_midi, midi_bytes
from eval.feedback_measures import _hash, select
from scorer.inference import signal_spots as sig

FAULTS = ("clean", "pedal_held", "flat_dynamics", "left_hand_loud", "jitter")
# measure -> (threshold, a spot when the value is at or above it?)
THRESHOLDS: dict[str, tuple[float, bool]] = {
    "blur_midi": (sig.BLUR_MIDI, True),
    "blur_audio": (sig.BLUR_AUDIO, True),
    "crowded_audio": (sig.CROWDED_AUDIO, True),
    "velocity_spread": (sig.FLAT_VELOCITY, False),
    "level_spread_db": (sig.FLAT_LEVEL_DB, False),
    "melody_margin": (sig.BALANCE_VELOCITY, False),
    "top_voice_margin": (sig.TOP_VOICE_MARGIN, False),
    "chord_spread_ms_midi": (sig.CHORD_SPREAD_MS, True),
    "chord_spread_ms_audio": (sig.CHORD_SPREAD_MS, True),
    "unordered_midi": (sig.UNORDERED_MIDI, True),
    "unordered_audio": (sig.UNORDERED_AUDIO, True),
}


def room(audio: np.ndarray, sr: int, rt60: float) -> np.ndarray:
    """``audio`` in a room: convolved with exponentially decaying noise (reverberation time ``rt60``), the
    direct sound kept, peak level unchanged."""
    from scipy.signal import fftconvolve

    t = np.arange(int(rt60 * sr)) / sr
    ir = np.random.default_rng(0).standard_normal(t.size) * np.exp(-6.9 * t / rt60)
    ir = ir / np.sqrt(np.sum(ir**2)) * 0.5
    ir[0] = 1.0
    wet = fftconvolve(audio, ir)[: audio.size]
    return (wet / np.abs(wet).max() * np.abs(audio).max()).astype(np.float32)


def measures(midi: Any, audio: np.ndarray, sr: int, transcriber: Any, score: Any) -> dict[str, float | None]:
    from scorer.config import NoteConfig
    from scorer.inference.features import notes_from_midi
    from scorer.inference.note_assessment import assess

    notes = notes_from_midi(midi)
    heard, post = transcriber.transcribe_with_evidence(audio, sr)
    margin = sig.melody_margin(notes)
    out: dict[str, float | None] = {
        "blur_midi": sig.blur_from_notes(notes),
        "blur_audio": sig.blur_from_posteriors(post),
        "crowded_audio": sig.crowding_from_posteriors(post),
        "velocity_spread": sig.velocity_spread(notes),
        "level_spread_db": sig.level_spread(sig.key_levels(audio, sr, heard), heard),
        "melody_margin": None if margin is None else margin[0],
    }
    # timing without a score
    for name, played, band in (
        ("unordered_midi", notes, sig.MIDI_BAND),
        ("unordered_audio", heard, sig.AUDIO_BAND),
    ):
        found = sig.unordered_near_misses(played, band)
        out[name] = None if found is None else found[0]
    if score is not None:
        for tag, played, transcribed in (("midi", notes, False), ("audio", heard, True)):
            result = assess(
                played, score, NoteConfig(), transcribed=transcribed, evidence=post if transcribed else None
            )
            if not result.followed:
                continue
            spreads, _ = sig.notated_chord_spreads(result)
            out[f"chord_spread_ms_{tag}"] = float(np.median(spreads)) * 1000 if spreads.size else None
            if transcribed:
                margins, _ = sig.notated_top_voice(result, post)
                out["top_voice_margin"] = float(np.median(margins)) if margins.size else None
    return out


def summarise(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for fault in dict.fromkeys(r["fault"] for r in rows):
        sel = [r for r in rows if r["fault"] == fault]
        out[fault] = {}
        for name, (threshold, above) in THRESHOLDS.items():
            values = np.array([r[name] for r in sel if r.get(name) is not None], dtype=float)
            if not values.size:
                continue
            hits = int(np.sum(values >= threshold if above else values <= threshold))
            out[fault][name] = {
                "n": int(values.size),
                "min": round(float(values.min()), 3),
                "median": round(float(np.median(values)), 3),
                "max": round(float(values.max()), 3),
                "spot": f"{hits}/{values.size}",
            }
    return out


def main(argv: list[str] | None = None) -> int:
    from scorer.inference.align import load_score
    from scorer.inference.features import FEATURE_SR
    from scorer.inference.render import render_midi_bytes
    from scorer.inference.transcribe import Transcriber

    parser = argparse.ArgumentParser(prog="python -m eval.bench_signal_spots")
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared")
    parser.add_argument("--part", choices=["tune", "check"], default="tune")
    parser.add_argument("-n", type=int, default=21)
    parser.add_argument("--per-passage", type=int, default=1)
    parser.add_argument("--faults", default=",".join(FAULTS))
    parser.add_argument("--soundfont", type=Path, default=Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"))
    parser.add_argument("--reverb", type=float, default=0.0, help="room reverberation time in s (0: none)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    shared = args.shared.resolve()
    faults = [f for f in args.faults.split(",") if f]
    unknown = [f for f in faults if f not in FAULTS]
    if unknown:
        print(f"unknown fault(s): {', '.join(unknown)}; known: {', '.join(FAULTS)}", file=sys.stderr)
        return 2
    transcriber = Transcriber(1)
    rows = []
    for p in select(shared, args.part, args.n, per_passage=args.per_passage):
        midi = load_midi(p.midi(shared))
        score_path = p.score(shared)
        score = load_score(score_path) if score_path is not None else None
        for fault in faults:
            take = midi if fault == "clean" else inject(midi, fault, int(_hash(f"{p.key}|{fault}")[:8], 16))
            audio = render_midi_bytes(midi_bytes(take), args.soundfont, sr=FEATURE_SR)
            if args.reverb > 0:
                audio = room(audio, FEATURE_SR, args.reverb)
            row = {"key": p.key, "fault": fault, **measures(take, audio, FEATURE_SR, transcriber, score)}
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    summary = summarise(rows)
    print(json.dumps(summary, indent=1))
    if args.out:
        args.out.write_text(
            json.dumps(
                {"args": {k: str(v) for k, v in vars(args).items()}, "summary": summary, "rows": rows},
                indent=1,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
