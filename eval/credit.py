"""Crediting a ranking against the judgements: one gain per rank, each gold item credited once.

Span judgements are independent of chunking: a chunk covers a gold span when its `char_start:char_end`
in the same source covers at least half of the span's characters. Walking down the ranking, a chunk's
gain is the highest grade among the gold spans it covers that no higher-ranked chunk already covered
(0 if none), so overlapping chunks cannot earn the same quote twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eval.judgements import GoldId, GoldSpan


@dataclass(frozen=True)
class RankedItem:
    """What crediting needs from a search hit."""

    chunk_id: str
    source: str  # document slug
    start: int
    end: int
    text: str = ""  # for the per-query breakdown only


@dataclass(frozen=True)
class Credit:
    gains: list[int]  # gain at rank 1..depth
    credited_rank: list[int | None]  # per gold item: the rank that credited it (1-based), None if never
    grades: list[int]  # per gold item

    @property
    def ideal(self) -> list[int]:
        return sorted((g for g in self.grades if g > 0), reverse=True)


def covers(item: RankedItem, gold: GoldSpan, *, chunk_half: bool = False) -> bool:
    """At least half of the gold span's characters lie inside the chunk.

    With `chunk_half` (known-item mode, where a gold answer can be several chunks long) it is also enough
    that at least half of the chunk lies inside the gold span.
    """
    if item.source != gold.source:
        return False
    overlap = min(item.end, gold.end) - max(item.start, gold.start)
    if overlap <= 0:
        return False
    if 2 * overlap >= gold.end - gold.start:
        return True
    return chunk_half and 2 * overlap >= item.end - item.start


def credit_spans(
    ranking: Sequence[RankedItem], gold: Sequence[GoldSpan], *, chunk_half: bool = False
) -> Credit:
    credited: list[int | None] = [None] * len(gold)
    gains: list[int] = []
    for rank, item in enumerate(ranking, start=1):
        gain = 0
        for i, g in enumerate(gold):
            if credited[i] is None and g.grade > 0 and covers(item, g, chunk_half=chunk_half):
                credited[i] = rank
                gain = max(gain, g.grade)
        gains.append(gain)
    return Credit(gains, credited, [g.grade for g in gold])


def credit_ids(ranking: Sequence[str], gold: Sequence[GoldId]) -> Credit:
    """Id judgements (BEIR document slugs, TREC chunk ids); a repeated id earns nothing the second time."""
    index = {g.item_id: i for i, g in enumerate(gold)}
    credited: list[int | None] = [None] * len(gold)
    gains: list[int] = []
    for rank, item_id in enumerate(ranking, start=1):
        i = index.get(item_id)
        if i is not None and credited[i] is None and gold[i].grade > 0:
            credited[i] = rank
            gains.append(gold[i].grade)
        else:
            gains.append(0)
    return Credit(gains, credited, [g.grade for g in gold])
