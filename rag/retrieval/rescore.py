"""Second stage without a cross-encoder: rescore the fused (RRF) candidates by a convex blend of their
BM25 score, their cosine and their best sentence's cosine (MiniLM max-sim over the chunk's sentences).

RRF keeps only ranks, so a chunk that BM25 ranks 3rd by a wide margin weighs the same as one it ranks 3rd
by a hair; blending the scores keeps that information. A whole-chunk embedding averages ~190 words, so
a chunk holding one sentence that answers the query is diluted by the rest; the best sentence's cosine
sees it. Measured with `rag-eval` on the full corpus (eval/results/README.md, "Levers").

* BM25 is divided by the best BM25 score of the query (the top lexical match scores 1);
* the cosines are min-max scaled over the candidates (MiniLM cosines of on-topic passages sit in a
  narrow band, and the band moves from query to query);
* ``score = w_bm25 * bm25' + w_sentence * sentence' + (1 - w_bm25 - w_sentence) * cosine'``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def _min_max(values: np.ndarray) -> np.ndarray:
    spread = float(values.max() - values.min())
    return (values - values.min()) / spread if spread > 0 else np.zeros_like(values)


def blend_scores(
    candidates: Sequence[int],
    bm25: Mapping[int, float],
    cosine: Mapping[int, float],
    *,
    bm25_top: float,
    weight_bm25: float,
    sentence: Mapping[int, float] | None = None,
    weight_sentence: float = 0.0,
) -> list[tuple[int, float]]:
    """(candidate, blended score) best first; a candidate BM25 did not match scores 0 on that side, one
    without a sentence score takes its chunk cosine there.

    Ties keep the incoming (fused) order, so the result does not depend on hash order."""
    if weight_bm25 < 0 or weight_sentence < 0 or weight_bm25 + weight_sentence > 1:
        raise ValueError("blend weights must be >= 0 and sum to at most 1")
    if weight_sentence > 0 and sentence is None:
        raise ValueError("a sentence weight needs sentence scores")
    if not candidates:
        return []
    lexical = np.asarray([bm25.get(c, 0.0) for c in candidates], dtype=np.float64)
    lexical = lexical / bm25_top if bm25_top > 0 else np.zeros_like(lexical)
    dense = np.asarray([cosine[c] for c in candidates], dtype=np.float64)
    blended = weight_bm25 * lexical + (1.0 - weight_bm25 - weight_sentence) * _min_max(dense)
    if weight_sentence > 0 and sentence is not None:
        best = np.asarray([sentence.get(c, cosine[c]) for c in candidates], dtype=np.float64)
        blended += weight_sentence * _min_max(best)
    order = np.argsort(-blended, kind="stable")
    return [(int(candidates[i]), float(blended[i])) for i in order]


def reorder_top(
    ranked: Sequence[tuple[int, float]], model_cosine: Mapping[int, float], *, weight: float, n: int
) -> list[tuple[int, float]]:
    """Re-order the top ``n`` of a blended ranking by ``(1 - weight) * blend' + weight * cosine'`` (both
    min-max scaled over those n), where the cosine comes from a second, stronger embedding model; the rest
    keeps its order below them. Only the top is re-scored because the second model is ~5x slower to embed
    a chunk than MiniLM, and nDCG@10 / the served top k only see the head of the list.

    Scores: the re-ordered top gets ``1 + combined`` (in [1, 2]), the rest its blend score scaled into
    [0, 0.999], so the whole list stays sorted and positive."""
    if not 0 <= weight <= 1:
        raise ValueError("the second model's weight must lie in [0, 1]")
    head, tail = list(ranked[:n]), list(ranked[n:])
    if not head:
        return []
    missing = [c for c, _ in head if c not in model_cosine]
    if missing:
        raise ValueError(f"no second-model cosine for candidates {missing}")
    blend = _min_max(np.asarray([s for _, s in head], dtype=np.float64))
    model = _min_max(np.asarray([model_cosine[c] for c, _ in head], dtype=np.float64))
    combined = (1.0 - weight) * blend + weight * model
    order = np.argsort(-combined, kind="stable")
    out = [(int(head[i][0]), 1.0 + float(combined[i])) for i in order]
    top_tail = max((s for _, s in tail), default=0.0)
    scale = 0.999 / top_tail if top_tail > 0 else 0.0
    return out + [(int(c), float(s) * scale) for c, s in tail]
