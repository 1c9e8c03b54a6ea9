"""Reciprocal rank fusion: score(d) = sum_i w_i / (K + rank_i(d)), ranks starting at 1; a document
absent from a list gets nothing from it."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

T = TypeVar("T", bound=Hashable)


def rrf(
    rankings: Sequence[Sequence[T]], *, k: int = 60, weights: Sequence[float] | None = None
) -> list[tuple[T, float]]:
    if k < 1:
        raise ValueError("RRF K must be >= 1")
    weights = weights if weights is not None else [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    scores: dict[T, float] = {}
    first_seen: dict[T, int] = {}
    for weight, ranking in zip(weights, rankings, strict=False):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
            first_seen.setdefault(item, len(first_seen))
    # Ties keep first-seen order so results do not depend on hash order.
    return sorted(scores.items(), key=lambda kv: (-kv[1], first_seen[kv[0]]))
