"""Weak spots and strengths from window scores.

A weak spot is a dimension that sits clearly on its undesirable side *compared with what is expected of this
passage*, in units of how much performances of a passage normally differ:

- ``Expectation``: per dimension, the score expected here and the spread around it. By default the population
  of PercePiano performances *as the model scores them* (its held-out predictions: the model's scores are
  shrunk toward the middle, by a different amount per dimension, so a percentile among the human *labels* made
  some dimensions look extreme all the time and others never). When the caller knows other performances of the
  same passage (``passage_expectation``: other players, a teacher's takes), their mean is expected and the
  spread is how far one performance of a passage sits from the others' mean in PercePiano: about half the
  population's, because much of a dimension's value is the music (a Schubert slow movement is "blurred" and
  "wet" in every performance).
- ``z`` = (expected - window) / spread, turned so that positive is worse. A window is weak at ``z >= Z_WEAK``;
  severity grows with ``z`` and is comparable across dimensions (the old rule mixed label percentiles and
  in-recording contrasts, and ranked a held pedal below timing and drama).
- ``earlier``: the same student's earlier take of the passage (its whole-recording scores). A dimension that
  got worse by ``Z_CHANGE`` spreads since then is weak from ``Z_WEAK_CHANGED`` on, and the reason says so.

- A window clearly worse than the rest of the recording (by ``RELATIVE_SPREADS`` passage spreads: how much
  one performance of a passage differs from another) is weak too: a long recording's bad passage stands out from the student's
  own level.

Character scales (tempo, brightness, mood ...) are never "bad"; they yield a spot only at an extreme
(``|z| >= Z_CHARACTER``), worded as a description and ranked below quality problems of similar size.
Strengths: quality scales whose whole-recording score is at the desirable end of the PercePiano labels.
Thresholds were tuned on the TUNE passages of eval/splits/feedback_measures_split.json (eval/feedback_measures.py).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from scorer.dimensions import DIMENSIONS, Dimension
from scorer.schema import Spot

EXPECTATION_FILE = Path(__file__).resolve().parents[1] / "models" / "expectation.json"
Z_WEAK = 1.5  # spreads past the expectation, toward the undesirable pole: weak
Z_WEAK_CHANGED = 0.5  # ... or this far and clearly worse than the student's earlier take
Z_CHANGE = 1.0  # "clearly worse than the earlier take": by this many spreads
Z_CHARACTER = 2.0  # a character scale this far either way is worth a remark
Z_FULL = 4.0  # severity 1 at this many spreads
RELATIVE_SPREADS = 2.0  # a window this many passage spreads worse than the recording's mean: "below the rest"
# scales that sum up the whole performance rather than one thing to practise: every specific problem also
# lowers them, so at full weight they crowd the specific one out of the list (tuned on TUNE)
SUMMARY_SCALES = frozenset({"interpretation"})
SUMMARY_WEIGHT = 0.5
STRONG_PERCENTILE = 70.0
CHARACTER_WEIGHT = 0.5


@dataclass(frozen=True)
class Expectation:
    """What is expected of this passage per dimension (PercePiano scale) and the spread around it."""

    mean: np.ndarray  # (D,)
    spread: np.ndarray  # (D,) > 0
    source: str  # words for reasons: "PercePiano performances" / "performances of this passage"


@lru_cache(maxsize=1)
def _expectation_file() -> dict:
    return json.loads(EXPECTATION_FILE.read_text())


def population_expectation() -> Expectation:
    """The model's scores of PercePiano's human performances (held-out): their mean and spread."""
    data = _expectation_file()
    return Expectation(
        np.asarray(data["mean"]), np.asarray(data["population_spread"]), "PercePiano performances"
    )


def passage_expectation(
    others: Sequence[np.ndarray], source: str = "performances of this passage"
) -> Expectation:
    """Expected = the mean of other performances' whole-recording scores of the same passage (other players,
    or the student's own earlier takes); spread = PercePiano's spread of a performance around its passage's
    mean, widened by sqrt(1 + 1/n) because a mean of n others is itself uncertain. ValueError without any."""
    if not len(others):
        raise ValueError("passage_expectation needs at least one other performance")
    mean = np.mean(np.asarray(others, dtype=np.float64), axis=0)
    spread = np.asarray(_expectation_file()["passage_spread"]) * math.sqrt(1 + 1 / len(others))
    return Expectation(mean, spread, source)


_KEY = re.compile(r"^(?P<piece>.+_\d+bars)_(?P<performer>[^_]+)_(?P<segment>\d+)$")


def build_expectation(oof: dict[str, Sequence[float]]) -> dict[str, list[float] | str]:
    """The expectation file from held-out predictions keyed by PercePiano label key (human performers only):
    the population mean and sd, and the sd of a performance minus the mean of the other performers of its
    passage (scaled by sqrt(1 + 1/n) off, so that it is the spread of one performance around a known mean)."""
    groups: dict[str, dict[str, np.ndarray]] = {}
    for key, values in oof.items():
        m = _KEY.match(key)
        if m is None or m["performer"].startswith("Score"):
            continue
        groups.setdefault(f"{m['piece']}_{m['segment']}", {})[m["performer"]] = np.asarray(values)
    everyone = np.array([v for g in groups.values() for v in g.values()])
    residuals = []
    for perf in groups.values():
        for p, v in perf.items():
            others = [w for q, w in perf.items() if q != p]
            if len(others) >= 2:
                residuals.append((v - np.mean(others, axis=0)) / math.sqrt(1 + 1 / len(others)))
    return {
        "source": "held-out predictions of the embedded audio head (scorer/models/embedded/oof_audio.json)",
        "mean": np.round(everyone.mean(0), 5).tolist(),
        "population_spread": np.round(everyone.std(0), 5).tolist(),
        "passage_spread": np.round(np.asarray(residuals).std(0), 5).tolist(),
    }


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


def bars_over(bar_times: Sequence[float] | None, start: float, end: float) -> list[int] | None:
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


def _toward_bad(dim: Dimension, value: np.ndarray | float, expected: float, spread: float) -> np.ndarray:
    """Spreads from the expectation toward the undesirable pole (quality) / toward the high pole (character)."""
    z = (np.asarray(value, dtype=np.float64) - expected) / max(spread, 1e-6)
    return -z if dim.desirable == "high" else z


def _share(z: float) -> float:
    """Share of performances a normal spread puts below ``z``: "further than ~N% of performances"."""
    return 50.0 * (1.0 + math.erf(z / math.sqrt(2.0)))


def find_spots(
    spans: Sequence[tuple[float, float]],
    window_scores: np.ndarray,
    overall: np.ndarray,
    rmse: np.ndarray,
    reference: Reference,
    *,
    top_n: int = 5,
    bar_times: Sequence[float] | None = None,
    expected: Expectation | None = None,
    earlier: np.ndarray | None = None,
) -> tuple[list[Spot], list[Spot]]:
    """(weak spots, strengths), each ranked by severity and cut to ``top_n``. ``expected``: what is expected
    of this passage (default: the PercePiano population as the model scores it); ``earlier``: the whole-recording
    scores of the student's earlier take of the same passage. ``rmse`` (the model's held-out error) is kept for
    callers: it is larger than the differences between takes of one passage, so it is not the unit here."""
    exp = expected or population_expectation()
    take_spread = np.asarray(_expectation_file()["passage_spread"])  # one passage, one player: little spread
    weak: list[Spot] = []
    strong: list[Spot] = []
    for dim in DIMENSIONS:
        d = dim.index
        scores = window_scores[:, d]
        spread = float(exp.spread[d])
        z = _toward_bad(dim, scores, float(exp.mean[d]), spread)
        if dim.kind == "quality":
            drop = (
                float(_toward_bad(dim, float(overall[d]), float(earlier[d]), spread))
                if earlier is not None
                else 0.0
            )
            changed = drop >= Z_CHANGE
            goodness = scores if dim.desirable == "high" else 1 - scores
            rel = (float(goodness.mean()) - goodness) / float(take_spread[d])
            below_rest = rel >= RELATIVE_SPREADS  # a passage clearly worse than the rest of the take
            flags = (z >= Z_WEAK) | ((z >= Z_WEAK_CHANGED) & changed) | below_rest
            side = dim.high_pole if dim.desirable == "low" else dim.low_pole
            for a, b in _runs(flags):
                worst = a + int(np.argmax(z[a : b + 1]))
                zw = float(z[worst])
                sev = np.clip(max(zw, Z_WEAK) / Z_FULL if changed or below_rest[worst] else zw / Z_FULL, 0, 1)
                sev *= SUMMARY_WEIGHT if dim.name in SUMMARY_SCALES else 1.0
                why = (
                    f"{dim.name.replace('_', ' ')} leans {side}: further toward '{side}' than about "
                    f"{_share(zw):.0f}% of {exp.source}"
                )
                if changed:
                    why += f"; more {side} than your earlier take"
                if below_rest[worst]:
                    why += "; clearly below the rest of this recording"
                weak.append(
                    Spot(
                        dimension=dim.name,
                        start_s=spans[a][0],
                        end_s=spans[b][1],
                        score=float(scores[worst]),
                        severity=float(sev),
                        reason=why,
                        bars=bars_over(bar_times, spans[a][0], spans[b][1]),
                    )
                )
            whole_good = 100.0 - _undesirable_pct(dim, reference.percentile(d, float(overall[d])))
            if whole_good >= STRONG_PERCENTILE and not (z >= Z_WEAK).any():
                good_pole = dim.low_pole if dim.desirable == "low" else dim.high_pole
                strong.append(
                    Spot(
                        dimension=dim.name,
                        start_s=spans[0][0],
                        end_s=spans[-1][1],
                        score=float(overall[d]),
                        severity=float(np.clip((whole_good - 50) / 50, 0, 1)),
                        reason=f"{dim.name.replace('_', ' ')} is {good_pole} (percentile {whole_good:.0f} among PercePiano performances)",
                        bars=bars_over(bar_times, spans[0][0], spans[-1][1]),
                    )
                )
        else:
            for flags, pole, sign in (
                (z <= -Z_CHARACTER, dim.low_pole, -1.0),
                (z >= Z_CHARACTER, dim.high_pole, 1.0),
            ):
                for a, b in _runs(flags):
                    ext = float(np.max(sign * z[a : b + 1]))
                    mid = (a + b) // 2
                    weak.append(
                        Spot(
                            dimension=dim.name,
                            start_s=spans[a][0],
                            end_s=spans[b][1],
                            score=float(scores[mid]),
                            severity=CHARACTER_WEIGHT * float(np.clip(ext / Z_FULL, 0, 1)),
                            reason=f"character: very {pole} for {exp.source} (an extreme, not an error)",
                            bars=bars_over(bar_times, spans[a][0], spans[b][1]),
                        )
                    )
    weak.sort(key=lambda s: (-s.severity, s.start_s, s.dimension))
    strong.sort(key=lambda s: (-s.severity, s.dimension))
    return weak[:top_n], strong[:top_n]
