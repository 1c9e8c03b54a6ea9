"""Transcriber comparison: basic-pitch (the default) vs transkun (accurate mode), issue 17.

    python -m eval.bench_transcription --n 40 --transkun-n 12 --out eval/results/transcription.json

Clips: the committed list eval/sets/transcription_subset.txt (PercePiano performances, one per passage,
in a fixed hash order); transkun runs on its first ``--transkun-n`` clips only (it is slower than real
time on 2 cores), basic-pitch on all ``--n`` (the same first clips included, reported separately so the
two are compared on identical audio). Audio: fluidsynth renders (FluidR3; TimGM6mb, a soundfont never
used in training) and FluidR3 under the recording conditions of scorer/training/robustness.py.

Metrics (mir_eval.transcription, 50 ms onset tolerance): note onset F1; onset+offset F1 (offset within
20% of the note or 50 ms); onset+offset+velocity F1. The reference offsets are extended by the sustain
pedal (what a render sounds). Speed: wall seconds per second of audio (RTF, lower is faster) on
``--threads`` threads of a shared 2-core machine. Transcriptions are cached by the audio's SHA-256
(+ transcriber variant), so a rerun measures nothing new: the cached first timing is reported.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from scorer.inference.features import FEATURE_SR, Notes

SUBSET_FILE = Path(__file__).with_name("sets") / "transcription_subset.txt"
PERCEPIANO = Path(__file__).resolve().parents[2] / "shared" / "data" / "percepiano"
CACHE = Path.home() / ".cache" / "cadenza" / "bench" / "transcribe"
FLUIDR3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
TIMGM = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")


class _Transcriber(Protocol):
    def transcribe(self, audio: np.ndarray, sr: int = ...) -> Notes: ...


@dataclass(frozen=True)
class Variant:
    name: str  # cache tag and report label
    make: Callable[[int], _Transcriber]
    hop_s: float = 8.0  # transkun: a 16-s segment every hop_s (projects the time per segment onto 5 minutes)


def _basic_pitch(threads: int) -> _Transcriber:
    from scorer.inference.transcribe import Transcriber

    return Transcriber(threads)


def _transkun(name: str, *, hop_s: float, **kwargs: Any) -> Variant:
    def make(threads: int) -> _Transcriber:
        from scorer.inference.transkun_transcriber import TranskunTranscriber

        return TranskunTranscriber(threads, hop_s=hop_s, **kwargs)

    return Variant(name, make, hop_s=hop_s)


VARIANTS = {
    "basic-pitch": Variant("basic-pitch", _basic_pitch),
    # transkun's own setting (16-s segments every 8 s) in float32, as measured before the levers below
    "transkun": _transkun("transkun", bf16=False, hop_s=8.0),
    "transkun-bf16": _transkun("transkun-bf16", bf16=True, hop_s=8.0),
    # the service's setting (TranskunTranscriber's defaults where the CPU has bf16 units)
    "transkun-bf16-hop12": _transkun("transkun-bf16-hop12", bf16=True, hop_s=12.0),
    "transkun-bf16-hop16": _transkun("transkun-bf16-hop16", bf16=True, hop_s=16.0),
    # speed levers: int8 dynamic quantisation of the Linear layers; segments without overlap (half the work)
    "transkun-int8": _transkun("transkun-int8", bf16=False, hop_s=8.0, quantize=True),
    "transkun-hop16": _transkun("transkun-hop16", bf16=False, hop_s=16.0),
}


def make_subset(percepiano_dir: Path, n: int = 40) -> list[str]:
    """One performance per passage (human performers only), passages in SHA-256 order of their name."""
    from scorer.training.dataset import load_labels, parse_key, score_midi_path

    by_passage: dict[str, list[str]] = {}
    for key in load_labels(percepiano_dir):
        k = parse_key(key)
        if k.performer.startswith("Score") or not score_midi_path(percepiano_dir, key).is_file():
            continue
        by_passage.setdefault(k.passage, []).append(key)
    digest = lambda s: hashlib.sha256(f"transcription-v1|{s}".encode()).hexdigest()  # noqa: E731
    passages = sorted(by_passage, key=digest)[:n]
    return [min(by_passage[p], key=digest) for p in passages]


def load_subset(path: Path = SUBSET_FILE) -> list[str]:
    return [
        line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]


def reference_notes(midi_file: Path) -> Notes:
    """The MIDI's notes with offsets held by the sustain pedal (until release or the same key's next onset)."""
    from scorer.inference.decode import parse_midi
    from scorer.inference.features import notes_from_midi

    notes = notes_from_midi(parse_midi(midi_file))
    off = notes.offset.copy()
    for a, b in notes.pedal:
        held = (notes.offset >= a) & (notes.offset < b)
        off[held] = np.maximum(off[held], b)
    for p in np.unique(notes.pitch):  # a re-struck key ends the held note
        idx = np.flatnonzero(notes.pitch == p)
        idx = idx[np.argsort(notes.onset[idx])]
        for i, j in zip(idx[:-1], idx[1:], strict=True):
            off[i] = min(off[i], max(notes.onset[j], notes.offset[i]))
    return Notes(notes.onset, off, notes.pitch, notes.velocity, notes.pedal)


def scores(ref: Notes, est: Notes) -> dict[str, float]:
    """mir_eval onset / onset+offset / onset+offset+velocity precision, recall, F1."""
    import mir_eval

    def iv(n: Notes) -> np.ndarray:
        return (
            np.stack([n.onset, np.maximum(n.offset, n.onset + 1e-3)], axis=1)
            if len(n.onset)
            else np.zeros((0, 2))
        )

    hz = lambda n: 440.0 * 2.0 ** ((n.pitch - 69) / 12.0)  # noqa: E731
    out: dict[str, float] = {}
    ri, rp, ei, ep = iv(ref), hz(ref), iv(est), hz(est)
    for name, ratio in (("onset", None), ("onset_offset", 0.2)):
        p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(ri, rp, ei, ep, offset_ratio=ratio)
        out.update({f"{name}_p": p, f"{name}_r": r, f"{name}_f1": f})
    p, r, f, _ = mir_eval.transcription_velocity.precision_recall_f1_overlap(
        ri, rp, ref.velocity, ei, ep, est.velocity, offset_ratio=0.2
    )
    out.update({"velocity_p": p, "velocity_r": r, "velocity_f1": f})
    return out


def conditions() -> dict[str, tuple[Path, Callable[[np.ndarray], np.ndarray] | None]]:
    from scorer.training.robustness import mp3, noise, phone, reverb

    return {
        "fluidr3": (FLUIDR3, None),
        "timgm6mb_unseen": (TIMGM, None),
        "reverb_rt60_0.8s": (FLUIDR3, reverb),
        "noise_20db": (FLUIDR3, noise(20)),
        "phone_band": (FLUIDR3, phone),
        "mp3_64k": (FLUIDR3, mp3(64)),
    }


class Cached:
    """Transcriptions and their first measured wall time, by SHA-256 of (audio, variant)."""

    def __init__(self, variant: Variant, threads: int, cache_dir: Path = CACHE) -> None:
        self.variant, self.threads, self.dir = variant, threads, cache_dir / variant.name
        self._model: _Transcriber | None = None

    def __call__(self, audio: np.ndarray) -> tuple[Notes, float, float]:
        """(notes, wall seconds, process CPU seconds) of the first run on this audio."""
        key = hashlib.sha256(audio.tobytes() + self.variant.name.encode()).hexdigest()[:24]
        path = self.dir / key[:2] / f"{key}.pkl"
        if path.is_file():
            notes, seconds, cpu = pickle.loads(path.read_bytes())
            return notes, seconds, cpu
        if self._model is None:
            self._model = self.variant.make(self.threads)
            if self.variant.name == "basic-pitch":  # its first ONNX call is slow (~20 s): warm up, untimed
                self._model.transcribe(np.zeros(FEATURE_SR, dtype=np.float32), FEATURE_SR)
        start, cpu_start = time.perf_counter(), time.process_time()
        notes = self._model.transcribe(audio, FEATURE_SR)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps((notes, seconds, cpu)))
        return notes, seconds, cpu


def run(
    keys: list[str],
    transkun_n: int,
    variants: list[str],
    conds: list[str],
    threads: int,
    percepiano_dir: Path,
    transkun_conds: list[str],
) -> dict[str, Any]:
    from scorer.inference.render import cached_render

    all_conds = conditions()
    rows: list[dict[str, Any]] = []
    runners = {v: Cached(VARIANTS[v], threads) for v in variants}
    for i, key in enumerate(keys):
        midi_file = percepiano_dir / "performance_midi" / f"{key}.mid"
        ref = reference_notes(midi_file)
        for cond in conds:
            soundfont, effect = all_conds[cond]
            audio = cached_render(midi_file.read_bytes(), soundfont, CACHE.parent / "render")
            if effect is not None:
                audio = effect(audio)
            duration = len(audio) / FEATURE_SR
            for v, runner in runners.items():
                if v.startswith("transkun") and (i >= transkun_n or cond not in transkun_conds):
                    continue
                est, seconds, cpu = runner(audio)
                row = {
                    "key": key,
                    "condition": cond,
                    "variant": v,
                    "duration_s": duration,
                    "seconds": seconds,
                    "cpu_seconds": cpu,
                }
                rows.append({**row, **scores(ref, est), "in_transkun_subset": i < transkun_n})
                print(
                    f"{i + 1}/{len(keys)} {cond} {v}: onset F1 {rows[-1]['onset_f1']:.3f} "
                    f"RTF {seconds / duration:.2f} (CPU {cpu / duration:.2f})",
                    file=sys.stderr,
                    flush=True,
                )
    return {
        "rows": rows,
        "summary": summarise(rows, threads),
        "threads": threads,
        "n": len(keys),
        "transkun_n": transkun_n,
    }


def summarise(rows: list[dict[str, Any]], threads: int) -> list[dict[str, Any]]:
    """Mean metrics per (variant, condition, subset); RTF = total wall seconds / total audio seconds on a
    shared machine; cpu_rtf = process CPU seconds / audio seconds / threads (idle-machine estimate)."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["variant"], r["condition"], "all"), []).append(r)
        if r["in_transkun_subset"]:
            groups.setdefault((r["variant"], r["condition"], "transkun_clips"), []).append(r)
    out = []
    for (variant, cond, subset), rs in sorted(groups.items()):
        if variant.startswith("transkun") and subset == "all":
            continue  # identical to its transkun_clips group
        metrics = {
            m: float(np.mean([r[m] for r in rs])) for m in ("onset_f1", "onset_offset_f1", "velocity_f1")
        }
        audio_s = sum(r["duration_s"] for r in rs)
        rtf = sum(r["seconds"] for r in rs) / audio_s
        # CPU seconds / audio second / threads: the RTF this would have on otherwise idle cores
        cpu_rtf = sum(r["cpu_seconds"] for r in rs) / audio_s / threads
        row = {
            "variant": variant,
            "condition": cond,
            "clips": subset,
            "n": len(rs),
            **metrics,
            "rtf": rtf,
            "cpu_rtf": cpu_rtf,
        }
        if variant.startswith("transkun"):
            # transkun pads and analyses fixed segments: project its time per segment onto 5 minutes
            hop, seg = VARIANTS[variant].hop_s, 16.0
            n_seg = sum(segments(r["duration_s"], hop, seg) for r in rs)
            row["projected_5min_s"] = sum(r["seconds"] for r in rs) / n_seg * segments(300.0, hop, seg)
            row["projected_5min_cpu_s"] = (
                sum(r["cpu_seconds"] for r in rs) / n_seg / threads * segments(300.0, hop, seg)
            )
        out.append(row)
    return out


def segments(duration_s: float, hop_s: float, segment_s: float) -> int:
    """How many segments transkun's ``transcribe`` runs for a clip (it pads segment - hop on both sides)."""
    pad = segment_s - hop_s
    return int(np.ceil((duration_s + 2 * pad) / hop_s))


def markdown(summary: list[dict[str, Any]]) -> str:
    lines = [
        "| transcriber | audio | clips | n | onset F1 | onset+offset F1 | +velocity F1 | RTF wall (shared) "
        "| RTF CPU/threads | 5 min, CPU/threads |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summary:
        proj = s.get("projected_5min_cpu_s", s["cpu_rtf"] * 300)
        lines.append(
            f"| {s['variant']} | {s['condition']} | {s['clips']} | {s['n']} | {s['onset_f1']:.3f} | "
            f"{s['onset_offset_f1']:.3f} | {s['velocity_f1']:.3f} | {s['rtf']:.2f} | {s['cpu_rtf']:.2f} | {proj:.0f} s |"
        )
    return "\n".join(lines)


def speed(seconds: float, variants: list[str], threads: int, percepiano_dir: Path) -> list[dict[str, Any]]:
    """Wall and CPU seconds of each transcriber on the first ``seconds`` of the 5-minute concatenation of
    eval.bench_notes (a FluidR3 render), projected to 5 minutes (transkun: per analysed segment)."""
    import tempfile

    from eval.bench_notes import five_minutes
    from scorer.inference.render import render_midi_bytes

    with tempfile.TemporaryDirectory(prefix="cadenza-speed-") as tmp:
        perf, _, _ = five_minutes(percepiano_dir, Path(tmp))
        audio = render_midi_bytes(perf.read_bytes(), FLUIDR3, sr=FEATURE_SR)[: int(seconds * FEATURE_SR)]
    duration = len(audio) / FEATURE_SR
    out = []
    for name in variants:
        model = VARIANTS[name].make(threads)
        model.transcribe(np.zeros(FEATURE_SR, dtype=np.float32), FEATURE_SR)  # warm-up, untimed
        t = os.times()
        start, cpu0 = time.perf_counter(), t.user + t.system
        notes = model.transcribe(audio, FEATURE_SR)
        wall = time.perf_counter() - start
        t = os.times()
        cpu = t.user + t.system - cpu0
        if name.startswith("transkun"):
            hop, seg = VARIANTS[name].hop_s, 16.0
            scale = segments(300.0, hop, seg) / segments(duration, hop, seg)
        else:
            scale = 300.0 / duration
        row = {"variant": name, "audio_s": duration, "threads": threads, "wall_s": wall, "cpu_s": cpu}
        out.append(row | {"notes": len(notes.onset), "five_min_cpu_s": cpu * scale})
        print(
            f"{name}: {duration:.0f} s of audio in {wall:.1f} s wall, {cpu:.1f} s CPU on {threads} thread(s); "
            f"5 minutes ~ {cpu * scale:.0f} CPU s",
            flush=True,
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m eval.bench_transcription", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--n", type=int, default=40, help="clips for basic-pitch (first n of the subset file)")
    ap.add_argument("--transkun-n", type=int, default=12, help="clips for transkun (first n)")
    ap.add_argument("--variants", default="basic-pitch,transkun", help=f"comma list of {sorted(VARIANTS)}")
    ap.add_argument("--conditions", default=",".join(conditions()), help="comma list")
    ap.add_argument("--transkun-conditions", default="fluidr3", help="conditions transkun runs on (slow)")
    ap.add_argument(
        "--keys", default="", help="comma list of performance keys instead of the subset's first n"
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--percepiano", type=Path, default=PERCEPIANO)
    ap.add_argument(
        "--write-subset", action="store_true", help="(re)write eval/sets/transcription_subset.txt"
    )
    ap.add_argument(
        "--speed", type=float, default=0.0, help="time the first N s of a 5-minute render instead"
    )
    ap.add_argument("--out", type=Path, default=None, help="JSON with every row and the summary")
    args = ap.parse_args(argv)
    if args.write_subset:
        SUBSET_FILE.parent.mkdir(parents=True, exist_ok=True)
        header = "# PercePiano performances for eval.bench_transcription (make_subset, one per passage, fixed hash order)\n"
        SUBSET_FILE.write_text(header + "\n".join(make_subset(args.percepiano, 100)) + "\n")
        return 0
    variants = [v for v in args.variants.split(",") if v]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        print(f"unknown variant: {unknown[0]} (choose from {', '.join(sorted(VARIANTS))})", file=sys.stderr)
        return 2
    if args.speed:
        rows = speed(args.speed, variants, args.threads, args.percepiano)
        if args.out:
            args.out.write_text(json.dumps(rows, indent=1))
        return 0
    keys = args.keys.split(",") if args.keys else load_subset()[: args.n]
    result = run(
        keys,
        args.transkun_n,
        variants,
        args.conditions.split(","),
        args.threads,
        args.percepiano,
        args.transkun_conditions.split(","),
    )
    print(markdown(result["summary"]))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
