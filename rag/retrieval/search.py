"""One search: BM25 and/or dense candidates, fusion, the hybrid second stage (rescoring blend, then the
second model on its head) and the optional cross-encoder, with per-stage timings."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

from rag.retrieval.config import RetrievalConfig
from rag.retrieval.embedder import Embedder
from rag.retrieval.embedding_cache import EmbeddingCache, embed_with_cache
from rag.retrieval.errors import QueryError
from rag.retrieval.filters import validate_filters
from rag.retrieval.fusion import rrf
from rag.retrieval.index_sync import IndexSync
from rag.retrieval.reranker import CrossEncoderReranker
from rag.retrieval.rescore import blend_scores, reorder_top
from rag.retrieval.sentence_vectors import SentenceVectors
from rag.retrieval.types import SearchHit, SourceRef

Mode = Literal["bm25", "dense", "hybrid", "rerank"]
MODES: tuple[str, ...] = ("bm25", "dense", "hybrid", "rerank")

Ranked = list[tuple[int, float]]  # (chunk seq, score), best first


class Searcher:
    def __init__(
        self,
        config: RetrievalConfig,
        sync: IndexSync,
        embedder: Embedder,
        rescore_embedder: Embedder | None,
        cache: EmbeddingCache,
        sentences: SentenceVectors,
    ) -> None:
        self.config = config
        self._sync = sync
        self._embedder = embedder
        self._rescore_embedder = rescore_embedder
        self._cache = cache
        self._sentences = sentences
        self._reranker: CrossEncoderReranker | None = None

    def _rerank_model(self) -> CrossEncoderReranker:
        if self.config.reranker_model is None:
            raise QueryError("mode 'rerank' needs a cross-encoder: set CADENZA_RERANKER_MODEL (name or path)")
        if self._reranker is None:
            from rag.retrieval.reranker import load_reranker

            self._reranker = load_reranker(
                self.config.reranker_model, max_length=self.config.reranker_max_length
            )
        return self._reranker

    def search_timed(
        self,
        query: str,
        *,
        mode: Mode = "hybrid",
        k: int | None = None,
        filters: Mapping[str, str] | None = None,
        second_model: bool = True,
    ) -> tuple[list[SearchHit], dict[str, float]]:
        """``second_model=False`` skips the second model's re-ordering of the blend's head (a caller that
        imposes its own order on the hits would throw that work away)."""
        timings: dict[str, float] = {}
        started = time.perf_counter()
        if not query or not query.strip():
            raise QueryError("the query is empty")
        if mode not in MODES:
            raise QueryError(f"unknown mode {mode!r} (use one of: {', '.join(MODES)})")
        k = k if k is not None else self.config.top_k
        if k < 1:
            raise QueryError("k must be at least 1")
        clean_filters = validate_filters(filters)
        reranker = self._rerank_model() if mode == "rerank" else None
        t = time.perf_counter()
        if not self._sync.caught_up_here:
            self._sync.catch_up()
        timings["catch_up"] = _ms(t)
        if not self._sync.chunks:
            raise QueryError("the index is empty: index documents first (`cadenza index`)")
        query_vector = None
        if mode in ("dense", "hybrid", "rerank"):
            t = time.perf_counter()
            query_vector = self._embedder.encode_query(query)
            timings["encode"] = _ms(t)
        sync = self._sync
        with sync.lock.read():
            # Flagged chunks (instruction-like text, corpus/injection.py) stay in the indexes but never come
            # back: ask for as many more as there are, so k clean hits still fill.
            flagged = sync.flagged
            wanted = k + len(flagged)
            ranked = self._first_stages(
                query, query_vector, mode, wanted, sync.allowed(clean_filters), second_model, timings
            )
            records = {s: sync.chunks[s] for s, _ in ranked if s in sync.chunks and s not in flagged}
            documents = sync.documents
        if reranker is not None:
            t = time.perf_counter()
            pool = [(s, records[s]) for s, _ in ranked[: self.config.rerank_candidates] if s in records]
            scores = reranker.score(query, [r.embed_text for _, r in pool])
            ranked = sorted(
                ((s, float(v)) for (s, _), v in zip(pool, scores, strict=False)), key=lambda x: -x[1]
            )
            timings["rerank"] = _ms(t)
        hits: list[SearchHit] = []
        for seq, score in ranked:
            record = records.get(seq)
            if record is None:
                continue
            doc = documents[record.document_id]
            hits.append(
                SearchHit(
                    rank=len(hits) + 1,
                    score=float(score),
                    chunk_id=record.chunk_id,
                    text=record.text,
                    section=record.section,
                    char_start=record.char_start,
                    char_end=record.char_end,
                    source=SourceRef(
                        document_id=doc.document_id,
                        title=doc.title,
                        author=doc.author,
                        year=doc.year,
                        url=doc.url,
                    ),
                )
            )
            if len(hits) == k:
                break
        timings["total"] = _ms(started)
        return hits, timings

    def _first_stages(
        self,
        query: str,
        query_vector: np.ndarray | None,
        mode: Mode,
        k: int,
        allowed: set[int] | None,
        second_model: bool,
        timings: dict[str, float],
    ) -> Ranked:
        """BM25 and dense candidates, then (hybrid, rerank) fusion and rescoring; under the read lock."""
        n_candidates = max(self.config.candidates_per_retriever, k)
        lexical: Ranked = []
        dense: Ranked = []
        if mode != "dense":
            t = time.perf_counter()
            lexical = self._sync.lexical.search(query, k if mode == "bm25" else n_candidates, allowed)
            timings["bm25"] = _ms(t)
        if query_vector is not None:
            t = time.perf_counter()
            dense = self._sync.vectors.search(query_vector, k if mode == "dense" else n_candidates, allowed)
            timings["dense"] = _ms(t)
        if mode == "bm25":
            return lexical
        if mode == "dense":
            return dense
        t = time.perf_counter()
        ranked = rrf(
            [[s for s, _ in lexical], [s for s, _ in dense]],
            k=self.config.rrf_k,
            weights=[self.config.rrf_weight_bm25, self.config.rrf_weight_dense],
        )
        timings["fusion"] = _ms(t)
        if self.config.rescore and query_vector is not None:
            t = time.perf_counter()
            ranked = self._rescore(query, query_vector, ranked, lexical, dense, second_model=second_model)
            timings["rescore"] = _ms(t)
        return ranked

    def _rescore(
        self,
        query: str,
        query_vector: np.ndarray,
        ranked: Ranked,
        lexical: Ranked,
        dense: Ranked,
        *,
        second_model: bool = True,
    ) -> Ranked:
        """Blend BM25, cosine and best-sentence cosine over every fused candidate (rag/retrieval/rescore.py); a
        candidate that only one retriever returned gets its other score by a search restricted to it (the
        candidates already passed the filters)."""
        candidates = [s for s, _ in ranked]
        bm25, cosine = dict(lexical), dict(dense)
        no_bm25 = {s for s in candidates if s not in bm25}
        if no_bm25:
            bm25.update(self._sync.lexical.search(query, len(no_bm25), no_bm25))
        no_cosine = {s for s in candidates if s not in cosine}
        if no_cosine:
            cosine.update(self._sync.vectors.search(query_vector, len(no_cosine), no_cosine))
        candidates = [s for s in candidates if s in cosine]  # a store answers for every id it holds
        top = lexical[0][1] if lexical else 0.0
        w_sentence = self.config.rescore_weight_sentence
        sentence: dict[int, float] = {}
        if w_sentence > 0:
            # The sentence vectors may come from another model than the chunk vectors (sentence_model).
            same = self._sentences.embedder is self._embedder
            vector = np.asarray(
                query_vector if same else self._sentences.encode_query(query), dtype=np.float32
            ).reshape(-1)
            matrices = self._sentences.matrices([self._sync.chunks[seq].text for seq in candidates])
            for seq, matrix in zip(candidates, matrices, strict=False):
                if len(matrix):
                    sentence[seq] = float((matrix @ vector).max())
        blended = blend_scores(
            candidates,
            bm25,
            cosine,
            bm25_top=top,
            weight_bm25=self.config.rescore_weight_bm25,
            sentence=sentence,
            weight_sentence=w_sentence,
        )
        if self._rescore_embedder is None or not second_model or not blended:
            return blended
        n = self.config.rescore_model_candidates
        model_cosine = self._rescore_model_cosines(query, [seq for seq, _ in blended[:n]])
        return reorder_top(blended, model_cosine, weight=self.config.rescore_model_weight, n=n)

    def _rescore_model_cosines(self, query: str, seqs: Sequence[int]) -> dict[int, float]:
        """Query-chunk cosine by the second model (chunk vectors from the cache, embedding what it lacks)."""
        assert self._rescore_embedder is not None
        vector = self._rescore_embedder.encode_query(query)
        matrix = embed_with_cache(
            self._rescore_embedder, self._cache, [self._sync.chunks[s].embed_text for s in seqs]
        )
        return {s: float(v @ vector) for s, v in zip(seqs, matrix, strict=False)}


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
