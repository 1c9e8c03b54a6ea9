"""Second stage without a cross-encoder: rescore the fused (RRF) candidates by a convex blend of their
BM25 and cosine scores.

RRF keeps only ranks, so a chunk that BM25 ranks 3rd by a wide margin weighs the same as one it ranks 3rd
by a hair. Blending the scores themselves keeps that information. Measured with `rag-eval` on the full
corpus (eval/results/README.md, "Levers"): better than RRF alone on the Hofmann set and the dev tune part.

* BM25 is divided by the best BM25 score of the query (so the top lexical match scores 1);
* the cosine is min-max scaled over the candidates (MiniLM cosines of on-topic passages sit in a narrow
  band, and the band moves from query to query);
* ``score = w * bm25' + (1 - w) * cosine'``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def blend_scores(
    candidates: Sequence[int],
    bm25: Mapping[int, float],
    cosine: Mapping[int, float],
    *,
    bm25_top: float,
    weight_bm25: float,
) -> list[tuple[int, float]]:
    """(candidate, blended score) best first; a candidate BM25 did not match scores 0 on that side.

    Ties keep the incoming (fused) order, so the result does not depend on hash order."""
    if not 0.0 <= weight_bm25 <= 1.0:
        raise ValueError("weight_bm25 must lie in [0, 1]")
    if not candidates:
        return []
    lexical = np.asarray([bm25.get(c, 0.0) for c in candidates], dtype=np.float64)
    lexical = lexical / bm25_top if bm25_top > 0 else np.zeros_like(lexical)
    dense = np.asarray([cosine[c] for c in candidates], dtype=np.float64)
    spread = float(dense.max() - dense.min())
    dense = (dense - dense.min()) / spread if spread > 0 else np.zeros_like(dense)
    blended = weight_bm25 * lexical + (1.0 - weight_bm25) * dense
    order = np.argsort(-blended, kind="stable")
    return [(int(candidates[i]), float(blended[i])) for i in order]
