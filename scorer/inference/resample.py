"""Sample-rate conversion with scipy's polyphase filter (no soxr/resampy: resampy needs pkg_resources,
which recent setuptools no longer ships)."""

from __future__ import annotations

from math import gcd

import numpy as np


def resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    if orig_sr == target_sr:
        return y.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    g = gcd(int(orig_sr), int(target_sr))
    return resample_poly(y, target_sr // g, orig_sr // g).astype(np.float32)
