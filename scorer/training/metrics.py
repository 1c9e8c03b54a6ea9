"""Evaluation metrics on out-of-fold predictions (pooled, within-passage, pairwise, bootstrap CIs)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import r2_score

PAIR_MIN_DELTA = 0.05
N_BOOT = 1000


def passage_centre(values: np.ndarray, passages: Sequence[str]) -> np.ndarray:
    """Subtract each passage's mean (rows of the same passage)."""
    out = values.astype(np.float64).copy()
    groups: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(passages):
        groups[p].append(i)
    for rows in groups.values():
        out[rows] -= out[rows].mean(0)
    return out


def within_passage_r2(y: np.ndarray, p: np.ndarray, passages: Sequence[str]) -> float:
    return float(r2_score(passage_centre(y, passages), passage_centre(p, passages)))


def pairwise(
    y: np.ndarray, p: np.ndarray, passages: Sequence[str], min_delta: float = PAIR_MIN_DELTA
) -> tuple[float, np.ndarray]:
    """Share of same-passage pairs (per dimension, |Δlabel| >= min_delta) whose predicted order is right.

    Ties in the prediction count half (a constant predictor scores 0.5). Returns (overall, per dim).
    """
    groups: dict[str, list[int]] = defaultdict(list)
    for i, q in enumerate(passages):
        groups[q].append(i)
    correct = np.zeros(y.shape[1])
    total = np.zeros(y.shape[1])
    for rows in groups.values():
        if len(rows) < 2:
            continue
        yy, pp = y[rows], p[rows]
        iu = np.triu_indices(len(rows), 1)
        dy = yy[iu[0]] - yy[iu[1]]
        dp = pp[iu[0]] - pp[iu[1]]
        keep = np.abs(dy) >= min_delta
        agree = np.where(dp == 0, 0.5, (np.sign(dy) == np.sign(dp)).astype(float))
        correct += (agree * keep).sum(0)
        total += keep.sum(0)
    per_dim = correct / np.maximum(total, 1)
    return float(correct.sum() / max(total.sum(), 1)), per_dim


def report(
    y: np.ndarray, p: np.ndarray, passages: Sequence[str], *, n_boot: int = N_BOOT, seed: int = 0
) -> dict:
    """All headline metrics, with bootstrap 95% CIs (performances resampled with replacement)."""
    pooled = float(r2_score(y, p))
    within = within_passage_r2(y, p, passages)
    pair, pair_dim = pairwise(y, p, passages)
    rng = np.random.default_rng(seed)
    boots: dict[str, list[float]] = {"r2_pooled": [], "r2_within_passage": [], "mae": []}
    passages = list(passages)
    n = len(y)
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        boots["r2_pooled"].append(float(r2_score(y[idx], p[idx])))
        pas = [passages[i] for i in idx]
        boots["r2_within_passage"].append(within_passage_r2(y[idx], p[idx], pas))
        boots["mae"].append(float(np.abs(y[idx] - p[idx]).mean()))
    ci = {k: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] for k, v in boots.items()}
    return {
        "n": int(n),
        "r2_pooled": pooled,
        "r2_within_passage": within,
        "mae": float(np.abs(y - p).mean()),
        "pairwise_accuracy": pair,
        "ci95": ci,
        "per_dimension": {
            "r2": [float(v) for v in r2_score(y, p, multioutput="raw_values")],
            "r2_within_passage": [
                float(v)
                for v in r2_score(
                    passage_centre(y, passages), passage_centre(p, passages), multioutput="raw_values"
                )
            ],
            "mae": [float(v) for v in np.abs(y - p).mean(0)],
            "pairwise_accuracy": [float(v) for v in pair_dim],
        },
    }
