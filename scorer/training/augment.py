"""Random recording conditions for training the audio head (training renders are clean; users record on
phones in rooms).

Each call draws one chain: a tilt of the spectrum (another piano, another microphone), and with some
probability room reverb, a band limit with compression (phone, laptop), and background noise. The ranges
are wider than, and the draws independent of, the fixed conditions `cadenza scorer robustness` reports, so
that suite stays a held-out test."""

from __future__ import annotations

import numpy as np

from scorer.inference.features import FEATURE_SR


def _tilt(y: np.ndarray, db: float, pivot_hz: float) -> np.ndarray:
    """Spectral tilt: +db above the pivot, -db below (one real FFT, linear in log frequency)."""
    spec = np.fft.rfft(y)
    freq = np.fft.rfftfreq(len(y), 1.0 / FEATURE_SR)
    octaves = np.log2(np.clip(freq, 20.0, None) / pivot_hz)
    gain = 10 ** (np.clip(octaves / 4.0, -1, 1) * db / 20.0)
    return np.fft.irfft(spec * gain, n=len(y))


def _reverb(y: np.ndarray, rt60: float, rng: np.random.Generator) -> np.ndarray:
    from scipy.signal import fftconvolve

    t = np.arange(int(rt60 * FEATURE_SR)) / FEATURE_SR
    ir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)
    ir[0] = 1.0 / rng.uniform(0.2, 0.5)  # direct-to-reverberant ratio
    return fftconvolve(y, ir)[: len(y)]


def _band(y: np.ndarray, low_hz: float, high_hz: float, drive: float) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    sos = butter(4, [low_hz, high_hz], btype="band", fs=FEATURE_SR, output="sos")
    z = sosfilt(sos, y)
    z = z / (np.abs(z).max() + 1e-9)
    return np.tanh(drive * z) / np.tanh(drive)


def _noise(y: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    n = np.cumsum(rng.standard_normal(len(y)))
    n = (
        n
        - np.convolve(n, np.ones(300) / 300, mode="same")
        + rng.uniform(0.1, 0.6) * rng.standard_normal(len(y))
    )
    p_sig, p_n = np.mean(y**2), np.mean(n**2) + 1e-12
    return y + n * np.sqrt(p_sig / (p_n * 10 ** (snr_db / 10)))


def recording_chain(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random recording condition applied to a mono FEATURE_SR signal; peak-normalised like the renders."""
    out = _tilt(y.astype(np.float64), rng.uniform(-6, 6), rng.uniform(400, 2000))
    if rng.random() < 0.5:
        out = _reverb(out, rng.uniform(0.3, 1.6), rng)
    if rng.random() < 0.4:
        out = _band(out, rng.uniform(80, 450), rng.uniform(2800, 8000), rng.uniform(1.0, 4.0))
    if rng.random() < 0.6:
        out = _noise(out, rng.uniform(12, 35), rng)
    return (out / (np.abs(out).max() + 1e-9) * 0.9).astype(np.float32)
