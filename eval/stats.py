"""Uncertainty: bootstrap 95% confidence intervals and a paired randomisation test on per-query scores."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SEED = 20261122  # fixed, so committed results reproduce


def bootstrap_ci(
    values: Sequence[float], *, n_resamples: int = 5000, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean over queries."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return (0.0, 0.0)
    rng = np.random.default_rng(SEED)
    means = x[rng.integers(0, x.size, size=(n_resamples, x.size))].mean(axis=1)
    alpha = (1.0 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def paired_randomisation(a: Sequence[float], b: Sequence[float], *, n_resamples: int = 10000) -> float:
    """Two-sided p-value of mean(a - b) under random sign flips of the per-query differences."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if d.size == 0 or not np.any(d):
        return 1.0
    rng = np.random.default_rng(SEED)
    signs = rng.choice(np.array([-1.0, 1.0]), size=(n_resamples, d.size))
    observed = abs(d.mean())
    extreme = np.count_nonzero(np.abs((signs * d).mean(axis=1)) >= observed - 1e-12)
    return float((extreme + 1) / (n_resamples + 1))
