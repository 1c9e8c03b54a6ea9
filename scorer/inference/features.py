"""Features for the embedded backend.

Two families, both rate-normalised (per second / per note) so that a 12 s window and a 20 s training
segment give comparable numbers:
- ``audio_features``: librosa descriptors of the waveform (loudness curve, onsets and inter-onset
  timing, spectral shape, harmonic blur via chroma). Used for every input.
- ``note_features``: performance features from notes (true MIDI notes + pedals, or a transcription):
  timing and micro-timing, velocity/voicing and its phrase contour, register balance, legato overlap,
  pedal use (depth, half-pedalling, harmony under the pedal, soft pedal).
Both are computed per window and per the window's 30 s context span (``scorer.inference.extract.family_rows``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

FEATURE_SR = 22050
_HOP = 512
_NFFT = 2048


def _stats(prefix: str, x: np.ndarray, out: dict[str, float]) -> None:
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        x = np.zeros(1)
    p5, p25, p50, p75, p95 = np.percentile(x, [5, 25, 50, 75, 95])
    out[f"{prefix}_mean"] = float(x.mean())
    out[f"{prefix}_std"] = float(x.std())
    out[f"{prefix}_p5"] = float(p5)
    out[f"{prefix}_p50"] = float(p50)
    out[f"{prefix}_p95"] = float(p95)
    out[f"{prefix}_iqr"] = float(p75 - p25)


_BANDS = (0, 150, 400, 1000, 2500, 5000, 11025)  # Hz edges of the band-energy ratios


@dataclass(frozen=True)
class Frames:
    """Frame-level descriptors of a recording (hop 512 at 22.05 kHz), computed once and then
    summarised per window: overlapping windows (and their context spans) share the STFT and every
    per-frame spectral series, and only the summaries are computed per span."""

    db: np.ndarray  # (frames,) frame level, dB
    oenv: np.ndarray  # (frames,) onset strength
    contrast: np.ndarray  # (7, frames)
    mfcc: np.ndarray  # (13, frames)
    chroma_share: np.ndarray  # (12, frames) each pitch class's share of the frame's chroma
    chroma_entropy: np.ndarray  # (frames,) entropy of that share: how many pitch classes sound
    log_centroid: np.ndarray  # (frames,) log(spectral centroid Hz + 1)
    log_spread: np.ndarray  # (frames,) log(spectral spread Hz + 1)
    log_flatness: np.ndarray  # (frames,)
    band_ratios: np.ndarray  # (len(_BANDS) - 1, frames) log share of the power in each band
    low_power: np.ndarray  # (frames,) power below 400 Hz
    sr: int

    @property
    def n(self) -> int:
        return self.db.shape[0]

    def frame_of(self, seconds: float) -> int:
        return int(round(seconds * self.sr / _HOP))


def _centroid_and_spread(
    power: np.ndarray, freqs: np.ndarray, total: np.ndarray, block: int = 4096
) -> tuple[np.ndarray, np.ndarray]:
    """Spectral centroid and spread per frame, in blocks of frames: the float64 (freq x frames) temporaries
    of a 30-minute recording would take ~0.6 GB each. Column by column, so the same numbers as one pass."""
    centroid = np.empty(power.shape[1])
    spread = np.empty(power.shape[1])
    for a in range(0, power.shape[1], block):
        p, t = power[:, a : a + block], total[a : a + block]
        c = (freqs[:, None] * p).sum(0) / t
        centroid[a : a + block] = c
        spread[a : a + block] = np.sqrt(((freqs[:, None] - c[None]) ** 2 * p).sum(0) / t)
    return centroid, spread


def frame_descriptors(y: np.ndarray, sr: int = FEATURE_SR) -> Frames:
    import librosa

    y = np.asarray(y, dtype=np.float32)
    S = np.abs(librosa.stft(y, n_fft=_NFFT, hop_length=_HOP)) + 1e-10
    power = S**2
    db = 20 * np.log10(np.sqrt(power.mean(axis=0)) + 1e-6)
    mel_db = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=sr, n_mels=64))
    freqs = librosa.fft_frequencies(sr=sr, n_fft=_NFFT)
    total = power.sum(0)
    centroid, spread = _centroid_and_spread(power, freqs, total)
    bands = [
        np.log(power[(freqs >= lo) & (freqs < hi)].sum(0) / total + 1e-9)
        for lo, hi in zip(_BANDS[:-1], _BANDS[1:], strict=False)
    ]
    chroma = librosa.feature.chroma_stft(S=power, sr=sr, n_chroma=12)
    share = chroma / (chroma.sum(0, keepdims=True) + 1e-9)
    return Frames(
        db=db,
        oenv=librosa.onset.onset_strength(S=mel_db, sr=sr, hop_length=_HOP),
        contrast=librosa.feature.spectral_contrast(S=S, sr=sr, n_fft=_NFFT, hop_length=_HOP),
        mfcc=librosa.feature.mfcc(S=mel_db, n_mfcc=13),
        chroma_share=share,
        chroma_entropy=-(share * np.log(share + 1e-9)).sum(0),
        log_centroid=np.log(centroid + 1),
        log_spread=np.log(spread + 1),
        log_flatness=np.log(np.exp(np.log(S).mean(0)) / S.mean(0)),
        band_ratios=np.stack(bands),
        low_power=power[freqs < 400].sum(0),
        sr=sr,
    )


def audio_features(y: np.ndarray, sr: int = FEATURE_SR) -> dict[str, float]:
    """Descriptors of one mono clip at ``sr`` (expects a few seconds or more)."""
    frames = frame_descriptors(y, sr)
    return span_features(frames, 0, frames.n, len(y) / sr)


def span_features(frames: Frames, a: int, b: int, seconds: float) -> dict[str, float]:
    """Descriptors of frames ``a:b`` (``seconds`` long) of a recording."""
    out: dict[str, float] = {}
    dur = max(seconds, 1e-3)
    db = frames.db[a:b]
    ref = _level_features(db, frames.sr, out)
    _timbre_features(frames, a, b, out)
    _onset_features(db, frames.oenv[a:b], ref, frames.sr, dur, out)
    _harmony_features(frames, a, b, out)
    out["duration_log"] = float(np.log(dur))
    return out


def _level_features(db: np.ndarray, sr: int, out: dict[str, float]) -> np.floating:
    """Loudness statistics and phrase-level dynamics; returns the reference level (95th percentile dB)."""
    # Level is relative to the clip's loud parts: users' gain is arbitrary, contrast is not.
    ref = np.percentile(db, 95)
    rel = db - ref
    active = rel > -40
    _stats("rel_db", rel[active] if active.any() else rel, out)
    out["active_frac"] = float(active.mean())
    out["db_range_90"] = float(np.percentile(db, 95) - np.percentile(db, 10))
    out["abs_db_p95"] = float(ref)
    d_db = np.diff(db)
    _stats("ddb", d_db, out)
    out["ddb_pos_mean"] = float(np.clip(d_db, 0, None).mean())
    # slow loudness envelope (phrase-level dynamics)
    win = max(1, int(round(1.0 * sr / _HOP)))
    smooth = np.convolve(db, np.ones(win) / win, mode="valid") if len(db) > win else db
    out["phrase_db_std"] = float(np.std(smooth))
    out["phrase_db_range"] = float(np.percentile(smooth, 95) - np.percentile(smooth, 5))
    return ref  # a numpy scalar, kept as one: the onset levels are computed against it in its precision


def _timbre_features(frames: Frames, a: int, b: int, out: dict[str, float]) -> None:
    """Spectral shape: centroid, spread, flatness, band energy ratios, contrast, MFCCs."""
    _stats("centroid", frames.log_centroid[a:b], out)
    out["spread_mean"] = float(frames.log_spread[a:b].mean())
    _stats("flatness", frames.log_flatness[a:b], out)
    for (lo, hi), ratio in zip(
        zip(_BANDS[:-1], _BANDS[1:], strict=False), frames.band_ratios[:, a:b], strict=False
    ):
        out[f"band_{lo}_{hi}_mean"] = float(ratio.mean())
        out[f"band_{lo}_{hi}_std"] = float(ratio.std())
    for i, row in enumerate(frames.contrast[:, a:b]):
        out[f"contrast{i}_mean"] = float(row.mean())
    mfcc = frames.mfcc[:, a:b]
    for i in range(1, 13):
        out[f"mfcc{i}_mean"] = float(mfcc[i].mean())
        out[f"mfcc{i}_std"] = float(mfcc[i].std())


def _onset_features(
    db: np.ndarray, oenv: np.ndarray, ref: np.floating, sr: int, dur: float, out: dict[str, float]
) -> None:
    """Onsets: timing regularity and density; onset strength as an attack-hardness proxy."""
    import librosa

    _stats("oenv", oenv / (oenv.mean() + 1e-9), out)
    out["oenv_mean_abs"] = float(oenv.mean())
    onsets = librosa.onset.onset_detect(onset_envelope=oenv, sr=sr, hop_length=_HOP, units="frames")
    out["onset_rate"] = float(len(onsets) / dur)
    if len(onsets) >= 3:
        t = onsets * _HOP / sr
        ioi = np.diff(t)
        lioi = np.log(ioi + 1e-3)
        _stats("log_ioi", lioi, out)
        out["ioi_cv"] = float(ioi.std() / (ioi.mean() + 1e-9))
        out["dlog_ioi_std"] = float(np.diff(lioi).std()) if len(lioi) > 2 else 0.0
        peaks = db[np.clip(onsets, 0, len(db) - 1)]
        _stats("onset_db", peaks - ref, out)
        out["onset_db_dstd"] = float(np.diff(peaks).std()) if len(peaks) > 2 else 0.0
        # decay between onsets: how much level falls before the next attack (dry vs sustained)
        valleys = [db[a_:b_].min() for a_, b_ in zip(onsets[:-1], onsets[1:], strict=False) if b_ > a_]
        decay = peaks[: len(valleys)] - np.asarray(valleys)
        _stats("decay_db", decay, out)
        ostr = oenv[np.clip(onsets, 0, len(oenv) - 1)]
        out["onset_strength_mean"] = float(ostr.mean() / (oenv.mean() + 1e-9))
        out["onset_strength_cv"] = float(ostr.std() / (ostr.mean() + 1e-9))
    else:
        for k in ("log_ioi", "onset_db", "decay_db"):
            _stats(k, np.zeros(1), out)
        out.update(
            ioi_cv=0.0, dlog_ioi_std=0.0, onset_db_dstd=0.0, onset_strength_mean=0.0, onset_strength_cv=0.0
        )
    try:
        tempo = librosa.feature.tempo(onset_envelope=oenv, sr=sr, hop_length=_HOP)
        out["tempo_bpm"] = float(np.log(tempo[0] + 1))
    except Exception:  # too short for the autocorrelation window
        out["tempo_bpm"] = 0.0


def _harmony_features(frames: Frames, a: int, b: int, out: dict[str, float]) -> None:
    """Harmonic blur: how many pitch classes sound at once and how fast the harmony changes."""
    cn = frames.chroma_share[:, a:b]
    _stats("chroma_entropy", frames.chroma_entropy[a:b], out)
    out["chroma_flux"] = float(np.abs(np.diff(cn, axis=1)).sum(0).mean()) if cn.shape[1] > 1 else 0.0
    # low-frequency sustain: energy below 400 Hz that persists (pedal proxy)
    low = frames.low_power[a:b]
    out["low_sustain"] = float(np.log(np.percentile(low, 20) + 1e-9) - np.log(np.percentile(low, 90) + 1e-9))


@dataclass(frozen=True)
class Notes:
    """A performance as arrays (seconds, MIDI pitch, velocity 1-127) plus sustain-pedal intervals."""

    onset: np.ndarray
    offset: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray
    pedal: list[tuple[float, float]]
    # MIDI only: the raw sustain controller (times, values 0-127: half-pedalling) and soft-pedal intervals
    cc64: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0))
    # plain defaults (no factory), so that Notes pickled before these fields existed still load
    soft: Sequence[tuple[float, float]] = ()

    def window(self, start: float, end: float) -> Notes:
        sel = (self.onset >= start) & (self.onset < end)

        def clip(iv: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
            return [(max(a, start) - start, min(b, end) - start) for a, b in iv if b > start and a < end]

        t, v = self.cc64
        csel = (t >= start) & (t < end)
        return Notes(
            self.onset[sel] - start,
            self.offset[sel] - start,
            self.pitch[sel],
            self.velocity[sel],
            clip(self.pedal),
            (t[csel] - start, v[csel]),
            clip(self.soft),
        )


def notes_from_midi(midi: object) -> Notes:
    """Notes + sustain intervals from a pretty_midi.PrettyMIDI (all non-drum instruments)."""
    on: list[float] = []
    off: list[float] = []
    pit: list[int] = []
    vel: list[int] = []
    pedal: list[tuple[float, float]] = []
    soft: list[tuple[float, float]] = []
    cc_t: list[float] = []
    cc_v: list[float] = []

    def intervals(ccs: list, out: list[tuple[float, float]]) -> None:
        down: float | None = None
        for cc in ccs:
            if cc.value >= 64 and down is None:
                down = cc.time
            elif cc.value < 64 and down is not None:
                out.append((down, cc.time))
                down = None
        if down is not None:
            out.append((down, max(off) if off else down))

    for inst in midi.instruments:  # type: ignore[attr-defined]
        if inst.is_drum:
            continue
        for n in inst.notes:
            on.append(n.start)
            off.append(n.end)
            pit.append(n.pitch)
            vel.append(n.velocity)
        sustain = sorted((c for c in inst.control_changes if c.number == 64), key=lambda c: c.time)
        intervals(sustain, pedal)
        intervals(sorted((c for c in inst.control_changes if c.number == 67), key=lambda c: c.time), soft)
        cc_t += [c.time for c in sustain]
        cc_v += [c.value for c in sustain]
    order = np.argsort(on, kind="stable")
    arr = lambda xs: np.asarray(xs, dtype=np.float64)[order]  # noqa: E731
    cc_order = np.argsort(cc_t, kind="stable")
    cc64 = (np.asarray(cc_t, dtype=np.float64)[cc_order], np.asarray(cc_v, dtype=np.float64)[cc_order])
    return Notes(arr(on), arr(off), arr(pit), arr(vel), sorted(pedal), cc64, sorted(soft))


def _pitch_class_onehot(pitch: np.ndarray) -> np.ndarray:
    """(notes, 12) indicator of each note's pitch class."""
    onehot = np.zeros((len(pitch), 12), dtype=np.int64)
    onehot[np.arange(len(pitch)), (pitch % 12).astype(int)] = 1
    return onehot


class _Events:
    """Notes grouped into onset events (chords): ``event_id`` is non-decreasing over notes sorted by onset.
    Group reductions use ``reduceat`` instead of one boolean mask per event (quadratic in notes)."""

    def __init__(
        self, event_id: np.ndarray, onset: np.ndarray, pitch: np.ndarray, velocity: np.ndarray
    ) -> None:
        self.event_id, self.pitch = event_id, pitch
        self.starts = np.flatnonzero(np.concatenate([[True], np.diff(event_id) != 0]))
        self.n = len(self.starts)
        self.counts = np.diff(np.append(self.starts, len(event_id)))
        self.onset = np.minimum.reduceat(onset, self.starts)
        self.spread = np.maximum.reduceat(onset, self.starts) - self.onset
        self.velocity = np.add.reduceat(velocity, self.starts) / self.counts

    def first_of_pitch(self, *, highest: bool) -> np.ndarray:
        """Per event, the index of its first note with the highest (or lowest) pitch, as argmax/argmin."""
        order = np.lexsort(
            (np.arange(len(self.pitch)), -self.pitch if highest else self.pitch, self.event_id)
        )
        return order[self.starts]


def note_features(notes: Notes, duration: float) -> dict[str, float]:
    """Performance features of a note list over ``duration`` seconds."""
    out: dict[str, float] = {}
    dur = max(duration, 1e-3)
    n = len(notes.onset)
    out["n_notes_rate"] = n / dur
    if n < 4:
        return out  # the model treats missing features as missing (NaN)
    on, off, pit, vel = notes.onset, notes.offset, notes.pitch, notes.velocity
    length = np.clip(off - on, 1e-3, None)
    _stats("vel", vel / 127, out)
    out["vel_range"] = float((np.percentile(vel, 95) - np.percentile(vel, 5)) / 127)
    _stats("pitch", pit, out)
    _stats("log_len", np.log(length), out)

    # chords: onsets within 35 ms are one event (asynchrony inside, timing between)
    event_id = np.concatenate([[0], np.cumsum(np.diff(on) > 0.035)])
    events = _Events(event_id, on, pit, vel)
    _event_timing_features(notes, events, dur, out)
    _legato_voicing_features(notes, events, out)
    eff_off = _pedal_features(notes, dur, out)
    out.update(_contour_features(notes, dur, events, eff_off))
    return out


def _event_timing_features(notes: Notes, events: _Events, dur: float, out: dict[str, float]) -> None:
    """Chord size, asynchrony, top-voice emphasis and the timing between events."""
    vel = notes.velocity
    n_ev, ev_on, ev_vel = events.n, events.onset, events.velocity
    ev_spread = events.spread
    ev_top_minus = vel[events.first_of_pitch(highest=True)] - ev_vel
    out["event_rate"] = n_ev / dur
    out["chord_size"] = len(notes.onset) / n_ev
    out["async_mean"] = float(ev_spread.mean())
    out["top_voice_vel_excess"] = float(ev_top_minus.mean() / 127)
    _stats("ev_vel_diff", np.diff(ev_vel) / 127, out)
    if n_ev >= 4:
        ioi = np.diff(ev_on)
        lioi = np.log(ioi + 1e-3)
        _stats("ev_log_ioi", lioi, out)
        out["ev_ioi_cv"] = float(ioi.std() / (ioi.mean() + 1e-9))
        d = np.diff(lioi)
        out["ev_dlog_ioi_std"] = float(d.std()) if d.size else 0.0
        # tempo drift: slope of local log-IOI (rubato vs steady)
        k = min(5, len(lioi))
        sm = np.convolve(lioi, np.ones(k) / k, mode="valid")
        out["ev_tempo_curve_std"] = float(sm.std())
        out["vel_ioi_corr"] = (
            float(np.corrcoef(ev_vel[:-1], ioi)[0, 1]) if np.std(ioi) > 0 and np.std(ev_vel) > 0 else 0.0
        )


def _legato_voicing_features(notes: Notes, events: _Events, out: dict[str, float]) -> None:
    """Legato / staccato against the next event, and velocity against pitch (voicing)."""
    on, off, pit, vel = notes.onset, notes.offset, notes.pitch, notes.velocity
    n_ev, ev_on = events.n, events.onset
    # legato: how far a note sounds past the next event's onset, relative to the gap
    nxt = np.searchsorted(ev_on, on + 0.035)
    has = nxt < n_ev
    gap = np.where(has, ev_on[np.minimum(nxt, n_ev - 1)] - on, np.nan)
    overlap = (off - on - gap) / np.clip(gap, 1e-2, None)
    ov = overlap[has]
    _stats("legato", np.clip(ov, -1, 3), out)
    out["legato_frac"] = float((ov > 0).mean()) if ov.size else 0.0
    out["staccato_frac"] = float((ov < -0.5).mean()) if ov.size else 0.0
    # velocity vs pitch (voicing: melody in the treble louder than bass)
    out["vel_pitch_corr"] = float(np.corrcoef(vel, pit)[0, 1]) if np.std(vel) > 0 and np.std(pit) > 0 else 0.0
    hi = pit >= np.median(pit)
    out["vel_hi_minus_lo"] = (
        float((vel[hi].mean() - vel[~hi].mean()) / 127) if (~hi).any() and hi.any() else 0.0
    )


def _pedal_features(notes: Notes, dur: float, out: dict[str, float]) -> np.ndarray:
    """Sustain pedal use and what rings together under it; returns the pedal-extended offsets."""
    on, off, pit = notes.onset, notes.offset, notes.pitch
    ped = notes.pedal
    down_time = sum(max(0.0, b - a) for a, b in ped)
    out["pedal_frac"] = down_time / dur
    out["pedal_rate"] = len(ped) / dur
    out["pedal_len_mean"] = float(np.mean([b - a for a, b in ped])) if ped else 0.0
    # effective (pedal-extended) offsets -> how many notes / pitch classes ring together
    eff_off = off.copy()
    for a, b in ped:
        sel = (off > a) & (off < b)
        eff_off[sel] = b
    grid = np.arange(0, dur, 0.05)
    if grid.size:
        sounding = (on[None, :] <= grid[:, None]) & (eff_off[None, :] > grid[:, None])
        count = sounding.sum(1)
        pcs = (sounding.astype(np.int64) @ _pitch_class_onehot(pit) > 0).sum(1)
        out["sounding_mean"] = float(count.mean())
        out["sounding_pc_mean"] = float(pcs.mean())
        out["sounding_pc_p90"] = float(np.percentile(pcs, 90))
        raw = ((on[None, :] <= grid[:, None]) & (off[None, :] > grid[:, None])).sum(1)
        out["pedal_extension"] = float(count.mean() - raw.mean())
    out["eff_log_len_mean"] = float(np.log(np.clip(eff_off - on, 1e-3, None)).mean())
    return eff_off


def _contour_features(notes: Notes, dur: float, events: _Events, eff_off: np.ndarray) -> dict[str, float]:
    """Phrase-level shape and finer performance cues (v3): velocity contour, micro-timing around the
    local tempo, register balance, articulation in seconds, half/soft pedalling and harmony under
    the pedal. Why: segment-level baselines with such hand-made features beat our window features."""
    out: dict[str, float] = {}
    on, off, pit, vel = notes.onset, notes.offset, notes.pitch, notes.velocity
    n_ev, ev_on, ev_vel = events.n, events.onset, events.velocity
    # velocity contour: phrase-scale (2 s bins) swell, overall trend, event-to-event persistence
    bins = np.floor(ev_on / 2.0).astype(int)
    phrase = np.array([ev_vel[bins == b].mean() for b in np.unique(bins)]) / 127
    out["vel_phrase_std"] = float(phrase.std())
    out["vel_phrase_range"] = float(np.ptp(phrase))
    out["vel_trend"] = (
        float(np.polyfit(ev_on, ev_vel / 127, 1)[0] * dur) if n_ev >= 3 and np.ptp(ev_on) > 0 else 0.0
    )
    out["vel_ev_autocorr"] = (
        float(np.corrcoef(ev_vel[:-1], ev_vel[1:])[0, 1])
        if n_ev >= 4 and np.std(ev_vel[:-1]) > 0 and np.std(ev_vel[1:]) > 0
        else 0.0
    )
    out["vel_loud_frac"] = float((vel >= 90).mean())
    out["vel_soft_frac"] = float((vel <= 40).mean())
    # register: balance between bass, middle and treble, and the bass line's weight
    for name, lo, hi in (("low", 0, 48), ("mid", 48, 72), ("high", 72, 128)):
        sel = (pit >= lo) & (pit < hi)
        out[f"reg_{name}_frac"] = float(sel.mean())
        out[f"reg_{name}_vel"] = float(vel[sel].mean() / 127 - vel.mean() / 127) if sel.any() else 0.0
    out["pitch_range"] = float(np.percentile(pit, 95) - np.percentile(pit, 5))
    bass = vel[events.first_of_pitch(highest=False)]
    out["bass_vel_excess"] = float((bass - ev_vel).mean() / 127)
    # micro-timing: event IOIs against a smoothed local tempo; pauses; the final slowing
    if n_ev >= 6:
        lioi = np.log(np.diff(ev_on) + 1e-3)
        k = min(7, len(lioi))
        local = np.convolve(np.pad(lioi, (k // 2, k - 1 - k // 2), mode="edge"), np.ones(k) / k, mode="valid")
        resid = lioi - local
        out["ioi_resid_std"] = float(resid.std())
        out["ioi_resid_mad"] = float(np.median(np.abs(resid)))
        out["ioi_max_ratio"] = float(np.log(np.exp(lioi).max() / (np.median(np.exp(lioi)) + 1e-6) + 1e-6))
        tail = max(2, len(lioi) // 5)
        out["ioi_final_slowing"] = float(lioi[-tail:].mean() - lioi[:-tail].mean())
        out["ioi_first_half_vs_second"] = float(lioi[: len(lioi) // 2].mean() - lioi[len(lioi) // 2 :].mean())
    # articulation in absolute terms: overlap / gap to the next event in seconds
    nxt = np.searchsorted(ev_on, on + 0.035)
    has = nxt < n_ev
    if has.any():
        gap_s = ev_on[nxt[has]] - off[has]
        _stats("gap_s", np.clip(gap_s, -1.0, 1.0), out)
        out["dur_ioi_ratio_p50"] = float(
            np.median((off[has] - on[has]) / np.clip(ev_on[nxt[has]] - on[has], 1e-2, None))
        )
    # polyphony (keys held, pedal excluded) and density
    out["poly_max"] = (
        float(((on[None, :] <= ev_on[:, None]) & (off[None, :] > ev_on[:, None])).sum(1).max())
        if n_ev
        else 0.0
    )
    _pedal_depth_features(notes, dur, ev_on, eff_off, out)
    return out


def _pedal_depth_features(
    notes: Notes, dur: float, ev_on: np.ndarray, eff_off: np.ndarray, out: dict[str, float]
) -> None:
    """Pedal depth (half-pedalling), soft pedal, pitch classes per pedal and legato re-takes."""
    on, pit = notes.onset, notes.pitch
    t64, v64 = notes.cc64
    if len(v64):
        out["pedal_cc_mean"] = float(v64.mean() / 127)
        out["pedal_half_frac"] = float(((v64 > 20) & (v64 < 100)).mean())
        out["pedal_cc_rate"] = float(len(v64) / dur)
    out["pedal_soft_frac"] = float(sum(max(0.0, b - a) for a, b in notes.soft) / dur)
    if notes.pedal:
        pcs = []
        for a, b in notes.pedal:
            sel = (eff_off > a) & (on < b)
            pcs.append(len(set((pit[sel] % 12).astype(int))))
        out["pedal_pcs_mean"] = float(np.mean(pcs))
        out["pedal_pcs_max"] = float(np.max(pcs))
        down_at = np.array([any(a <= t < b for a, b in notes.pedal) for t in ev_on])
        out["pedal_at_onset_frac"] = float(down_at.mean())
        # legato pedalling: pedal pressed shortly after an event onset (syncopated re-take)
        presses = np.array([a for a, _ in notes.pedal])
        lag = presses[:, None] - ev_on[None, :]
        lag = np.where(lag >= 0, lag, np.inf).min(1)
        out["pedal_retake_lag"] = float(np.median(np.clip(lag, 0, 1.0)))
