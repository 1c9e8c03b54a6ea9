"""Weak spots and strengths from window scores.

"Weak" means the undesirable side of a *quality* scale, judged two ways at once:
- against the PercePiano reference distribution (the percentile of the window's score among the
  1,189 rated performances, turned so that 100 = the undesirable end), and
- against the recording itself (a window clearly worse than the recording's own average, in units of
  the model's held-out error, so that noise does not create spots).
Character scales (tempo, brightness, mood ...) are never "bad"; they yield a spot only at an extreme of
the reference distribution (below the 7th / above the 93rd percentile), worded as a description and
ranked below quality problems of similar size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scorer.dimensions import DIMENSIONS, Dimension
from scorer.schema import Spot

WEAK_PERCENTILE = 65.0  # undesirable-side percentile that counts as weak on its own
RELATIVE_PERCENTILE = 50.0  # ... or past the median and clearly worse than the rest of the recording
RELATIVE_ERRORS = 1.0  # "clearly worse": by at least one held-out RMSE
STRONG_PERCENTILE = 70.0
CHARACTER_EXTREME = 7.0
CHARACTER_WEIGHT = 0.5


class Reference:
    """PercePiano's label distribution per dimension (quantiles stored with the model)."""

    def __init__(self, quantiles: np.ndarray) -> None:
        self.quantiles = np.asarray(quantiles, dtype=np.float64)  # (101, D), 0..100th percentile

    def percentile(self, d: int, value: float) -> float:
        q = self.quantiles[:, d]
        return float(np.interp(value, q, np.linspace(0, 100, len(q))))


def parse_bar_times(text: str | None, what: str = "bars") -> list[float] | None:
    """Bar start times from "0,2.1,4.3" (seconds, increasing); None for empty; RecordingError naming ``what``."""
    from scorer.errors import RecordingError

    if not text or not text.strip():
        return None
    try:
        bars = [float(x) for x in text.split(",") if x.strip()]
    except ValueError as err:
        raise RecordingError(f"{what} must be comma-separated bar start times in seconds") from err
    if not all(np.isfinite(bars)):
        raise RecordingError(f"{what} must be finite numbers of seconds")
    if any(b2 <= b1 for b1, b2 in zip(bars, bars[1:], strict=False)):
        raise RecordingError(f"{what} must be increasing")
    return bars or None


def _bars(bar_times: Sequence[float] | None, start: float, end: float) -> list[int] | None:
    """1-based numbers of the bars that overlap [start, end) (bar_times = bar start times)."""
    if not bar_times:
        return None
    times = list(bar_times)
    out = []
    for i, t0 in enumerate(times):
        t1 = times[i + 1] if i + 1 < len(times) else float("inf")
        if t0 < end and t1 > start:
            out.append(i + 1)
    return out


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    runs, start = [], None
    for i, f in enumerate(list(flags) + [False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            runs.append((start, i - 1))
            start = None
    return runs


def _undesirable_pct(dim: Dimension, pct: float) -> float:
    return pct if dim.desirable == "low" else 100.0 - pct


def find_spots(
    spans: Sequence[tuple[float, float]],
    window_scores: np.ndarray,
    overall: np.ndarray,
    rmse: np.ndarray,
    reference: Reference,
    *,
    top_n: int = 5,
    bar_times: Sequence[float] | None = None,
) -> tuple[list[Spot], list[Spot]]:
    """(weak spots, strengths), each ranked by severity and cut to ``top_n``."""
    weak: list[Spot] = []
    strong: list[Spot] = []
    for dim in DIMENSIONS:
        d = dim.index
        scores = window_scores[:, d]
        pcts = np.array([reference.percentile(d, s) for s in scores])
        if dim.kind == "quality":
            bad = np.array([_undesirable_pct(dim, p) for p in pcts])
            goodness = scores if dim.desirable == "high" else 1 - scores
            mean_good = float(goodness.mean())
            rel = (mean_good - goodness) / max(float(rmse[d]), 1e-3)
            flags = (bad >= WEAK_PERCENTILE) | ((bad >= RELATIVE_PERCENTILE) & (rel >= RELATIVE_ERRORS))
            for a, b in _runs(flags):
                worst = a + int(np.argmax(bad[a : b + 1]))
                sev = 0.75 * (bad[worst] - 50) / 50 + 0.25 * float(np.clip(rel[worst] / 3, 0, 1))
                side = dim.high_pole if dim.desirable == "low" else dim.low_pole
                why = f"{dim.name.replace('_', ' ')} leans {side} (percentile {bad[worst]:.0f} toward '{side}' among PercePiano performances"
                why += (
                    f"; {rel[worst]:.1f} errors below this recording's average)"
                    if rel[worst] >= RELATIVE_ERRORS
                    else ")"
                )
                weak.append(
                    Spot(
                        dimension=dim.name,
                        start_s=spans[a][0],
                        end_s=spans[b][1],
                        score=float(scores[worst]),
                        severity=float(np.clip(sev, 0, 1)),
                        reason=why,
                        bars=_bars(bar_times, spans[a][0], spans[b][1]),
                    )
                )
            whole_good = 100.0 - _undesirable_pct(dim, reference.percentile(d, float(overall[d])))
            if whole_good >= STRONG_PERCENTILE:
                good_pole = dim.low_pole if dim.desirable == "low" else dim.high_pole
                strong.append(
                    Spot(
                        dimension=dim.name,
                        start_s=spans[0][0],
                        end_s=spans[-1][1],
                        score=float(overall[d]),
                        severity=float(np.clip((whole_good - 50) / 50, 0, 1)),
                        reason=f"{dim.name.replace('_', ' ')} is {good_pole} (percentile {whole_good:.0f} among PercePiano performances)",
                        bars=_bars(bar_times, spans[0][0], spans[-1][1]),
                    )
                )
        else:
            low = pcts <= CHARACTER_EXTREME
            high = pcts >= 100 - CHARACTER_EXTREME
            for flags, pole in ((low, dim.low_pole), (high, dim.high_pole)):
                for a, b in _runs(flags):
                    ext = float(
                        np.max(np.minimum(pcts[a : b + 1], 100 - pcts[a : b + 1]) * -1 + CHARACTER_EXTREME)
                    )
                    sev = CHARACTER_WEIGHT * float(np.clip(0.5 + ext / (2 * CHARACTER_EXTREME), 0, 1))
                    mid = (a + b) // 2
                    weak.append(
                        Spot(
                            dimension=dim.name,
                            start_s=spans[a][0],
                            end_s=spans[b][1],
                            score=float(scores[mid]),
                            severity=sev,
                            reason=f"character: very {pole} for a PercePiano performance (an extreme, not an error)",
                            bars=_bars(bar_times, spans[a][0], spans[b][1]),
                        )
                    )
    weak.sort(key=lambda s: (-s.severity, s.start_s, s.dimension))
    strong.sort(key=lambda s: (-s.severity, s.dimension))
    return weak[:top_n], strong[:top_n]
