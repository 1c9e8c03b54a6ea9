"""Sentence vectors of chunks, for the second stage's best-sentence cosine and feedback's quote picking.

Embedded at index time into the embedding cache; the sentences and vectors of recently ranked chunks stay
in memory (keyed by the chunk text's hash)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from corpus.chunking import sentence_spans
from rag.retrieval.embedder import Embedder
from rag.retrieval.embedding_cache import EmbeddingCache, embed_with_cache, text_sha
from rag.retrieval.errors import QueryError

SENTENCE_MAX_TOKENS = 200  # a longer "sentence" (a table, a list) is split at word boundaries
SENTENCE_VECTORS_KEPT = 2048  # chunks whose sentence vectors stay in memory for the second stage


class SentenceVectors:
    def __init__(self, embedder: Embedder, cache: EmbeddingCache) -> None:
        self._embedder = embedder
        self._cache = cache
        # chunk text sha -> (its sentences, their (n, dim) vectors)
        self._kept: OrderedDict[str, tuple[list[str], np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    def encode_query(self, text: str) -> np.ndarray:
        return self._embedder.encode_query(text)

    def split(self, text: str) -> list[str]:
        return [
            text[a:b]
            for a, b in sentence_spans(
                text, count=self._embedder.count_tokens, max_tokens=SENTENCE_MAX_TOKENS
            )
        ]

    def fill(self, texts: Sequence[str]) -> None:
        """Fill the embedding cache with the chunks' sentences, so the second stage only reads it."""
        embed_with_cache(
            self._embedder, self._cache, list(dict.fromkeys(s for t in texts for s in self.split(t)))
        )

    def matrices(self, texts: Sequence[str]) -> list[np.ndarray]:
        return [vectors for _, vectors in self.entries(texts)]

    def entries(self, texts: Sequence[str]) -> list[tuple[list[str], np.ndarray]]:
        """Sentences and sentence vectors of each chunk text: memory, else the embedding cache in one batched
        read (embedding what it lacks). The split is kept with the vectors: splitting counts word pieces, and
        re-splitting the candidates of every query cost feedback ~80 ms a request."""
        keys = [text_sha(t) for t in texts]
        with self._lock:
            found = {k: self._kept[k] for k in keys if k in self._kept}
            for k in found:
                self._kept.move_to_end(k)
        missing = {k: t for k, t in zip(keys, texts, strict=False) if k not in found}
        if missing:
            split = {k: self.split(t) for k, t in missing.items()}
            flat = [sentence for sentences in split.values() for sentence in sentences]
            vectors = embed_with_cache(self._embedder, self._cache, flat) if flat else None
            offset = 0
            for k, sentences in split.items():
                matrix = (
                    vectors[offset : offset + len(sentences)]
                    if vectors is not None
                    else np.zeros((0, self._embedder.dimension), np.float32)
                )
                found[k] = (sentences, matrix)
                offset += len(sentences)
            with self._lock:
                for k in split:
                    self._kept[k] = found[k]
                while len(self._kept) > SENTENCE_VECTORS_KEPT:
                    self._kept.popitem(last=False)
        return [found[k] for k in keys]

    def best_sentences(
        self, query: str, texts: Sequence[str], *, min_words: int = 6
    ) -> list[tuple[str, float]]:
        """For each text, its sentence closest to ``query`` (first-stage cosine) and that cosine; ("", -1.0) when
        a text has no sentence. Sentences under ``min_words`` words count only when a text has no longer one."""
        if not query or not query.strip():
            raise QueryError("the query is empty")
        vector = np.asarray(self._embedder.encode_query(query), dtype=np.float32).reshape(-1)
        out: list[tuple[str, float]] = []
        for sentences, matrix in self.entries(list(texts)):
            if not len(matrix) or len(sentences) != len(matrix):
                out.append(("", -1.0))
                continue
            scores = matrix @ vector
            long_enough = [i for i, s in enumerate(sentences) if len(s.split()) >= min_words] or list(
                range(len(sentences))
            )
            best = max(long_enough, key=lambda i: (float(scores[i]), -i))
            out.append((" ".join(sentences[best].split()), float(scores[best])))
        return out
