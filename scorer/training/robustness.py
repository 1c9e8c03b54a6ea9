"""`cadenza scorer robustness`: controlled degradations and recording conditions.

Every prediction comes from the fold model that never saw the performance (held-out), audio head.
- MIDI degradations (rendered after the change): does the matching dimension move the expected way?
- A second soundfont (TimGM6mb, never seen in training): R² and pairwise accuracy vs the training one.
- Recording conditions applied to the rendered audio: reverb, noise at 10/20/30 dB SNR, phone band
  limit + compression, MP3 at 64/128 kbit/s.
The subset is deterministic: whole passages (all their performers), so pairwise accuracy is defined.
"""

from __future__ import annotations

import io
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from scorer.config import ScorerConfig
from scorer.dimensions import BY_NAME
from scorer.inference.embedded import EmbeddedBackend
from scorer.inference.features import FEATURE_SR, Notes
from scorer.inference.model import TIMING_DIMENSION
from scorer.training.dataset import load_labels, parse_key
from scorer.training.folds import load_folds
from scorer.training.metrics import pairwise
from scorer.training.pipeline import DEFAULT_DIR

SECOND_SOUNDFONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")


# --- MIDI degradations -------------------------------------------------------------------------
def _edit(data: bytes, fn: Callable[[object, np.random.Generator], None], seed: int) -> bytes:
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(io.BytesIO(data))
    fn(midi, np.random.default_rng(seed))
    buf = io.BytesIO()
    midi.write(buf)
    return buf.getvalue()


def jitter(ms: float) -> Callable[[bytes], bytes]:
    def fn(midi, rng):
        for inst in midi.instruments:
            for n in inst.notes:
                shift = float(rng.normal(0, ms / 1000))
                n.start, n.end = max(0.0, n.start + shift), max(0.01, n.end + shift)
                n.end = max(n.end, n.start + 0.01)

    return lambda data: _edit(data, fn, 1)


def compress_velocity(factor: float = 0.3) -> Callable[[bytes], bytes]:
    def fn(midi, rng):
        for inst in midi.instruments:
            for n in inst.notes:
                n.velocity = int(np.clip(round(64 + (n.velocity - 64) * factor), 1, 127))

    return lambda data: _edit(data, fn, 2)


def wrong_notes(share: float = 0.15) -> Callable[[bytes], bytes]:
    def fn(midi, rng):
        for inst in midi.instruments:
            for n in inst.notes:
                if rng.random() < share:
                    n.pitch = int(np.clip(n.pitch + rng.choice([-2, -1, 1, 2]), 21, 108))

    return lambda data: _edit(data, fn, 3)


def pedal_held() -> Callable[[bytes], bytes]:
    """Sustain held from the first note to the end: every harmony change blurs."""
    import pretty_midi

    def fn(midi, rng):
        end = midi.get_end_time()
        for inst in midi.instruments:
            inst.control_changes = [c for c in inst.control_changes if c.number != 64]
            inst.control_changes += [
                pretty_midi.ControlChange(64, 127, 0.0),
                pretty_midi.ControlChange(64, 0, end),
            ]

    return lambda data: _edit(data, fn, 4)


# (name, transform, dimension, expected sign of the change in score)
DEGRADATIONS = [
    ("timing_jitter_30ms", jitter(30), "timing_stability", +1),
    ("timing_jitter_60ms", jitter(60), "timing_stability", +1),
    ("velocity_compression", compress_velocity(), "dynamic_range", -1),
    ("wrong_notes_15pct", wrong_notes(), "interpretation", -1),
    ("pedal_held_through", pedal_held(), "pedal_clarity", +1),
]


# --- recording conditions ----------------------------------------------------------------------
def reverb(y: np.ndarray, rt60: float = 0.8, seed: int = 5) -> np.ndarray:
    from scipy.signal import fftconvolve

    rng = np.random.default_rng(seed)
    t = np.arange(int(rt60 * FEATURE_SR)) / FEATURE_SR
    ir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)
    ir[0] = 1.0 / 0.3
    out = fftconvolve(y, ir * 0.3)[: len(y)]
    return (out / (np.abs(out).max() + 1e-9) * 0.9).astype(np.float32)


def noise(snr_db: float, seed: int = 6) -> Callable[[np.ndarray], np.ndarray]:
    def fn(y):
        rng = np.random.default_rng(seed)
        n = np.cumsum(rng.standard_normal(len(y)))  # brown-ish room noise, then whitened a little
        n = n - np.convolve(n, np.ones(200) / 200, mode="same") + 0.3 * rng.standard_normal(len(y))
        p_sig, p_n = np.mean(y**2), np.mean(n**2)
        return (y + n * np.sqrt(p_sig / (p_n * 10 ** (snr_db / 10)))).astype(np.float32)

    return fn


def phone(y: np.ndarray) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    sos = butter(4, [300, 3400], btype="band", fs=FEATURE_SR, output="sos")
    out = np.tanh(3 * sosfilt(sos, y)) / np.tanh(3)  # band limit + the compression of phone AGC
    return out.astype(np.float32)


def mp3(kbps: int) -> Callable[[np.ndarray], np.ndarray]:
    def fn(y):
        import soundfile as sf

        with tempfile.TemporaryDirectory() as tmp:
            wav, enc = Path(tmp) / "a.wav", Path(tmp) / "a.mp3"
            sf.write(str(wav), y, FEATURE_SR)
            subprocess.run(
                ["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), "-b:a", f"{kbps}k", str(enc)],
                check=True,
            )
            out = subprocess.run(
                [
                    "ffmpeg",
                    "-loglevel",
                    "error",
                    "-i",
                    str(enc),
                    "-f",
                    "f32le",
                    "-ac",
                    "1",
                    "-ar",
                    str(FEATURE_SR),
                    "-",
                ],
                check=True,
                capture_output=True,
            ).stdout
        z = np.frombuffer(out, dtype=np.float32)
        # the encoder adds a short delay; align length with the original
        return np.pad(z, (0, max(0, len(y) - len(z))))[: len(y)]

    return fn


CONDITIONS = [
    ("reverb_rt60_0.8s", reverb),
    ("noise_30db", noise(30)),
    ("noise_20db", noise(20)),
    ("noise_10db", noise(10)),
    ("phone_band_compressed", phone),
    ("mp3_128k", mp3(128)),
    ("mp3_64k", mp3(64)),
]


def subset(labels: dict[str, np.ndarray], limit: int) -> list[str]:
    """Whole passages, many performers first, until ``limit`` performances (deterministic)."""
    by_passage: dict[str, list[str]] = defaultdict(list)
    for k in labels:
        by_passage[parse_key(k).passage].append(k)
    chosen: list[str] = []
    # spread over pieces: alternate by piece family, biggest passages first
    order = sorted(by_passage, key=lambda p: (-len(by_passage[p]), p))
    seen_pieces: set[str] = set()
    for first_pass in (True, False):
        for p in order:
            piece = (
                parse_key(by_passage[p][0]).piece.split("_")[0]
                + parse_key(by_passage[p][0]).piece.split("_")[1]
            )
            if p in {parse_key(k).passage for k in chosen} or (first_pass and piece in seen_pieces):
                continue
            if len(chosen) + len(by_passage[p]) > limit:
                continue
            chosen += sorted(by_passage[p])
            seen_pieces.add(piece)
    return sorted(chosen)


def _predict(
    backend: EmbeddedBackend, folds: dict[str, int], key: str, audio: np.ndarray, score: Notes | None = None
) -> tuple[np.ndarray, float | None]:
    """Held-out fold predictions of the audio head (segment = mean of its windows) and, given the
    passage's score, the score-aware timing head's timing stability (the plain one where the transcription
    does not follow the score, as in the service)."""
    from scorer.inference.align import ScoreAlignment, align
    from scorer.inference.extract import TRANSCRIBED_PREFIX, aligned_rows, recording_rows
    from scorer.inference.windows import window_spans

    duration = len(audio) / FEATURE_SR
    spans = window_spans(duration)
    head = backend.model.heads["audio"]
    transcriber = backend.transcriber_for(head)
    heard = transcriber.transcribe(audio, FEATURE_SR) if transcriber is not None else None
    rows = recording_rows(audio, None, spans, transcriber, transcription=heard)
    scores = np.clip(head.folds[folds[key]].predict(head.matrix(rows)).mean(0), 0, 1)
    timing_head = backend.model.heads.get("audio_timing")
    if score is None or timing_head is None or heard is None:
        return scores, None
    aligned = ScoreAlignment(score, heard, align(heard, score))
    if not aligned.usable:
        return scores, float(scores[BY_NAME[TIMING_DIMENSION].index])
    extra = aligned_rows(heard, score, aligned.alignment, spans, duration, prefix=TRANSCRIBED_PREFIX)
    merged = timing_head.matrix([{**r, **e} for r, e in zip(rows, extra, strict=False)])
    return scores, float(np.clip(timing_head.folds[folds[key]].predict(merged)[:, 0].mean(), 0, 1))


def _scores(y: np.ndarray, p: np.ndarray, passages: list[str]) -> dict[str, float]:
    from sklearn.metrics import r2_score

    return {
        "r2_pooled": round(float(r2_score(y, p)), 4),
        "pairwise_accuracy": round(pairwise(y, p, passages)[0], 4),
    }


@dataclass(frozen=True)
class _Suite:
    """The subset under test and how to predict it: held-out fold models, and each passage's score when timing
    stability is also judged with the score."""

    backend: EmbeddedBackend
    folds: dict[str, int]
    keys: list[str]
    passages: list[str]
    y: np.ndarray
    scores: dict[str, Notes | None]
    with_score: bool

    def predict_all(
        self, audio_of: Callable[[str], np.ndarray], timing_too: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None]:
        timing_too = timing_too and self.with_score
        out = [
            _predict(self.backend, self.folds, k, audio_of(k), self.scores[k] if timing_too else None)
            for k in self.keys
        ]
        plain = np.stack([p for p, _ in out])
        return plain, np.array([s for _, s in out]) if timing_too else None

    def timing_scores(self, plain: np.ndarray, scored: np.ndarray) -> dict:
        t = BY_NAME[TIMING_DIMENSION].index
        truth = self.y[:, t : t + 1]
        return {
            "plain": _scores(truth, plain[:, t : t + 1], self.passages),
            "with_score": _scores(truth, scored[:, None], self.passages),
        }


def _suite(config: ScorerConfig, limit: int, with_score: bool) -> _Suite:
    from scorer.inference.align import load_score
    from scorer.training.dataset import score_midi_path

    pdir = config.percepiano_dir
    labels = load_labels(pdir)
    folds = load_folds(DEFAULT_DIR / "folds.json")
    backend = EmbeddedBackend(config.weights, threads=config.threads)
    keys = subset(labels, limit)
    with_score = (
        with_score
        and "audio_timing" in backend.model.heads
        and backend.transcriber_for(backend.model.heads["audio"]) is not None
        and all(score_midi_path(pdir, k).is_file() for k in keys)
    )
    scores = {k: load_score(score_midi_path(pdir, k)).notes if with_score else None for k in keys}
    return _Suite(
        backend,
        folds,
        keys,
        [parse_key(k).passage for k in keys],
        np.stack([labels[k] for k in keys]),
        scores,
        with_score,
    )


def _rendered(
    render: Callable[[bytes], np.ndarray],
    transform: Callable[[bytes], bytes],
    midi: dict[str, bytes],
    key: str,
) -> np.ndarray:
    return render(transform(midi[key]))


def _conditioned(
    condition: Callable[[np.ndarray], np.ndarray], audio: dict[str, np.ndarray], key: str
) -> np.ndarray:
    return condition(audio[key])


def _degradations(
    suite: _Suite,
    render: Callable[[bytes], np.ndarray],
    midi: dict[str, bytes],
    clean: np.ndarray,
    clean_timing: np.ndarray | None,
) -> tuple[dict, dict]:
    """Per MIDI degradation: how often its dimension moved the expected way (and, for timing, the score-aware
    head's too)."""
    result, timing = {}, {}
    for name, transform, dim, sign in DEGRADATIONS:
        d = BY_NAME[dim].index
        degraded, degraded_timing = suite.predict_all(
            partial(_rendered, render, transform, midi), timing_too=dim == TIMING_DIMENSION
        )
        moved = sign * (degraded[:, d] - clean[:, d])
        result[name] = {
            "dimension": dim,
            "expected": "up" if sign > 0 else "down",
            "share_expected_way": round(float((moved > 0).mean()), 3),
            "mean_change_expected_way": round(float(moved.mean()), 4),
        }
        if degraded_timing is not None and clean_timing is not None and dim == TIMING_DIMENSION:
            moved_scored = sign * (degraded_timing - clean_timing)
            timing[name] = {
                "share_expected_way": round(float((moved_scored > 0).mean()), 3),
                "mean_change_expected_way": round(float(moved_scored.mean()), 4),
            }
    return result, timing


def run_robustness(config: ScorerConfig, *, limit: int = 60, with_score: bool = True) -> dict:
    """The suites on ``config.percepiano_dir`` (renders cached under ``config.cache_dir``). ``with_score``: also
    timing stability from the score-aware timing head (each performance given its passage's score MIDI) under
    every condition, beside the plain head's (section ``score_timing``)."""
    from scorer.inference.render import cached_render
    from scorer.training.dataset import midi_path

    suite = _suite(config, limit, with_score)
    cache = config.cache_dir
    midi = {k: midi_path(config.percepiano_dir, k).read_bytes() for k in suite.keys}
    timing: dict = {"dimension": TIMING_DIMENSION, "conditions": {}, "degradations": {}}
    clean_audio = {k: cached_render(midi[k], config.soundfont, cache) for k in suite.keys}
    clean, clean_timing = suite.predict_all(clean_audio.__getitem__)
    result: dict = {
        "n_performances": len(suite.keys),
        "n_passages": len(set(suite.passages)),
        "clean": _scores(suite.y, clean, suite.passages),
        "degradations": {},
        "conditions": {},
    }
    if clean_timing is not None:
        timing["conditions"]["clean"] = suite.timing_scores(clean, clean_timing)
    result["degradations"], timing["degradations"] = _degradations(
        suite, lambda data: cached_render(data, config.soundfont, cache), midi, clean, clean_timing
    )
    if SECOND_SOUNDFONT.is_file():
        other, other_timing = suite.predict_all(lambda k: cached_render(midi[k], SECOND_SOUNDFONT, cache))
        result["second_soundfont"] = {
            "soundfont": SECOND_SOUNDFONT.name,
            **_scores(suite.y, other, suite.passages),
        }
        if other_timing is not None:
            timing["second_soundfont"] = suite.timing_scores(other, other_timing)
    else:
        result["second_soundfont"] = {
            "skipped": f"{SECOND_SOUNDFONT} not installed (Debian timgm6mb-soundfont)"
        }
    for name, fn in CONDITIONS:
        p, p_timing = suite.predict_all(partial(_conditioned, fn, clean_audio))
        result["conditions"][name] = _scores(suite.y, p, suite.passages)
        if p_timing is not None:
            timing["conditions"][name] = suite.timing_scores(p, p_timing)
    if suite.with_score:
        result["score_timing"] = timing
    return result
