"""Tempo and loudness curves of a performance (``ScoreReport.curves``), with and without a score.

- loudness: RMS level of the signal in dB (re full scale), every ``HOP_S``, smoothed over ~0.5 s. For MIDI
  input the signal is its fluidsynth render (what the scorer listens to), so MIDI and audio curves are on
  the same scale.
- tempo with a score: the time signature's beats per minute between consecutive notated beats through
  each pass's score-to-performance map (``curves.tempo`` follows the score's beats).
- tempo without a score: librosa's local tempo (tempogram) of the onset envelope, every ``HOP_S``; it
  counts the pulse librosa finds, which may be half or double the notated beat.
"""

from __future__ import annotations

import numpy as np

from scorer.inference.align import NotatedScore
from scorer.inference.note_match import map_time
from scorer.schema import Curves, LoudnessPoint, TempoPoint

HOP_S = 0.5


def loudness_curve(audio: np.ndarray, sr: int, hop_s: float = HOP_S) -> list[LoudnessPoint]:
    """Smoothed RMS level (dB) every ``hop_s`` seconds."""
    if audio.size == 0:
        return []
    hop = max(1, int(sr * hop_s))
    n = int(np.ceil(audio.size / hop))
    out = []
    for k in range(n):
        seg = audio[max(0, k * hop - hop // 2) : k * hop + hop // 2 + hop]
        rms = float(np.sqrt(np.mean(np.square(seg, dtype=np.float64)))) if seg.size else 0.0
        out.append(LoudnessPoint(time_s=round(k * hop_s, 2), db=round(20 * np.log10(max(rms, 1e-5)), 1)))
    return out


def tempo_curve_from_signal(audio: np.ndarray, sr: int, hop_s: float = HOP_S) -> list[TempoPoint]:
    """Local tempo (bpm) of the onset envelope every ``hop_s`` seconds (no score)."""
    import librosa

    if audio.size < sr:
        return []
    hop = 512
    env = librosa.onset.onset_strength(y=audio, sr=sr, hop_length=hop)
    local = librosa.feature.tempo(onset_envelope=env, sr=sr, hop_length=hop, aggregate=None)
    times = librosa.frames_to_time(np.arange(local.size), sr=sr, hop_length=hop)
    grid = np.arange(0.0, float(times[-1]) if times.size else 0.0, hop_s)
    values = np.interp(grid, times, local) if times.size else np.zeros(0)
    return [
        TempoPoint(time_s=round(float(t), 2), bpm=round(float(v), 1))
        for t, v in zip(grid, values, strict=True)
    ]


def tempo_curve_from_score(
    score: NotatedScore, maps: list[tuple[np.ndarray, np.ndarray]]
) -> list[TempoPoint]:
    """Beats per minute between notated beats, for every pass's (perf s, score s) anchors."""
    out: list[TempoPoint] = []
    for perf_s, score_s in maps:
        if score_s.size < 2:
            continue
        beats: list[float] = []
        for b in range(score.n_bars):
            spb = score.seconds_per_beat(b)
            t = float(score.downbeats[b]) + (0.0 if b else 0.0)
            while t < float(score.bar_ends[b]) - 1e-6:
                if score_s[0] - 1e-6 <= t <= score_s[-1] + 1e-6:
                    beats.append(t)
                t += spb
        if len(beats) < 2:
            continue
        s = np.array(beats)
        p = map_time(s, score_s, perf_s)
        for k in range(1, s.size - 1):
            dp = (p[k + 1] - p[k - 1]) / 2  # centred: one beat either side
            spb = float(score.seconds_per_beat(int(score.bar_index(np.array([s[k]]))[0])))
            ds = (s[k + 1] - s[k - 1]) / 2 / spb  # in beats
            if dp > 0:
                out.append(TempoPoint(time_s=round(float(p[k]), 2), bpm=round(float(60.0 * ds / dp), 1)))
    return out


def curves(
    audio: np.ndarray | None,
    sr: int,
    score: NotatedScore | None = None,
    maps: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> Curves:
    """Both curves: the tempo from the score's beats when a followed score gives ``maps``, else from the
    signal."""
    loud = loudness_curve(audio, sr) if audio is not None else []
    if score is not None and maps:
        tempo = tempo_curve_from_score(score, maps)
    else:
        tempo = tempo_curve_from_signal(audio, sr) if audio is not None else []
    return Curves(tempo=tempo, loudness=loud)
