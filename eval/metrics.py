"""IR metrics computed on credited gain lists (see eval/credit.py); checked against ranx in the tests.

nDCG uses linear gains (Järvelin & Kekäläinen, as trec_eval and ranx's `ndcg`), the ideal being the
gold grades sorted. With one gold item per credited chunk these equal ranx's values exactly; when a
chunk covers several quotes it counts once for MRR/MAP/nDCG but every quote counts for recall.
"""

from __future__ import annotations

import math

from eval.credit import Credit

METRICS = ("ndcg@10", "recall@5", "recall@10", "recall@20", "mrr@10", "map@100")
DEPTH = 100


def _dcg(gains: list[int], k: int) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]) if g > 0)


def ndcg(c: Credit, k: int) -> float:
    ideal = _dcg(c.ideal, k)
    return _dcg(c.gains, k) / ideal if ideal > 0 else 0.0


def recall(c: Credit, k: int) -> float:
    relevant = [r for r, g in zip(c.credited_rank, c.grades, strict=True) if g > 0]
    if not relevant:
        return 0.0
    return sum(1 for r in relevant if r is not None and r <= k) / len(relevant)


def mrr(c: Credit, k: int) -> float:
    for i, g in enumerate(c.gains[:k]):
        if g > 0:
            return 1.0 / (i + 1)
    return 0.0


def average_precision(c: Credit, k: int) -> float:
    n_relevant = sum(1 for g in c.grades if g > 0)
    if n_relevant == 0:
        return 0.0
    hits, total = 0, 0.0
    for i, g in enumerate(c.gains[:k]):
        if g > 0:
            hits += 1
            total += hits / (i + 1)
    return total / n_relevant


def all_metrics(c: Credit) -> dict[str, float]:
    return {
        "ndcg@10": ndcg(c, 10),
        "recall@5": recall(c, 5),
        "recall@10": recall(c, 10),
        "recall@20": recall(c, 20),
        "mrr@10": mrr(c, 10),
        "map@100": average_precision(c, DEPTH),
    }
