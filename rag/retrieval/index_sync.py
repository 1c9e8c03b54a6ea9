"""The derived indexes (BM25, vectors) and the in-memory chunk table, kept in step with the catalogue.

The catalogue is the source of truth; catching up compares chunk ids with it (idempotent), so a crash at
any point leaves no partial document and no duplicate chunk, and every process that sees a newer
catalogue generation catches up before it answers."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from corpus.catalogue import Catalogue, ChunkRecord, DocumentInfo
from rag.retrieval.bm25 import LexicalIndex
from rag.retrieval.embedder import Embedder
from rag.retrieval.embedding_cache import EmbeddingCache, embed_with_cache
from rag.retrieval.filters import allowed_seqs
from rag.retrieval.rwlock import ReadWriteLock
from rag.retrieval.vectorstore import VectorStore


class IndexSync:
    def __init__(
        self,
        catalogue: Catalogue,
        lexical: LexicalIndex,
        vectors: VectorStore,
        embedder: Embedder,
        cache: EmbeddingCache,
    ) -> None:
        self.catalogue = catalogue
        self.lexical = lexical
        self.vectors = vectors
        self._embedder = embedder
        self._cache = cache
        self.lock = ReadWriteLock()  # searches read; catch-up writes
        self._catch_up_lock = threading.Lock()
        self.generation = -1
        self.chunks: dict[int, ChunkRecord] = {}
        self.flagged: frozenset[int] = frozenset()  # seqs of chunks the injection detector flagged
        self.documents: dict[str, DocumentInfo] = {}
        self._filter_cache: dict[tuple[int, tuple[tuple[str, str], ...]], set[int]] = {}
        self._caught_up = threading.local()  # see caught_up_once

    @contextmanager
    def caught_up_once(self) -> Iterator[None]:
        """Searches on this thread inside the block skip the per-search generation check: the block catches
        up once at its start. For a caller that runs many searches to answer one request (feedback runs ~13),
        where a SELECT per search was ~1.6 ms each and a document arriving mid-request need not be seen."""
        if self.caught_up_here:
            yield
            return
        self.catch_up()
        self._caught_up.on = True
        try:
            yield
        finally:
            self._caught_up.on = False

    @property
    def caught_up_here(self) -> bool:
        """Whether this thread is inside a ``caught_up_once`` block."""
        return getattr(self._caught_up, "on", False)

    def catch_up(self) -> int:
        """Bring both indexes and the in-memory chunk table to the catalogue's generation."""
        generation = self.catalogue.generation()
        if generation == self.generation:
            return generation
        with self._catch_up_lock:
            if generation == self.generation:
                return generation
            wanted = self.catalogue.chunk_seqs()
            lexical_ids, vector_ids = self.lexical.ids(), self.vectors.ids()
            need = (wanted - lexical_ids) | (wanted - vector_ids) | (wanted - set(self.chunks))
            fresh = {c.seq: c for c in self.catalogue.chunks(sorted(need))} if need else {}
            add_lex = sorted(wanted - lexical_ids)
            add_vec = sorted(wanted - vector_ids)
            vectors = embed_with_cache(
                self._embedder, self._cache, [self._record(s, fresh).embed_text for s in add_vec]
            )
            documents = self.catalogue.documents_meta()
            with self.lock.write():
                self.lexical.delete(sorted(lexical_ids - wanted))
                self.vectors.delete(sorted(vector_ids - wanted))
                self.lexical.add(add_lex, [self._record(s, fresh).text for s in add_lex])
                self.vectors.add(add_vec, vectors)
                self.chunks = {s: self.chunks.get(s) or fresh[s] for s in wanted}
                self.flagged = frozenset(s for s, c in self.chunks.items() if c.flag)
                self.documents = documents
                self._filter_cache.clear()
                self.generation = generation
            if (
                add_lex
                or add_vec
                or lexical_ids - wanted
                or vector_ids - wanted
                or self.lexical.generation != generation
            ):
                self.lexical.save(generation)
                self.vectors.save(generation)
        return generation

    def _record(self, seq: int, fresh: Mapping[int, ChunkRecord]) -> ChunkRecord:
        return fresh.get(seq) or self.chunks[seq]

    def allowed(self, filters: dict[str, str]) -> set[int] | None:
        """Chunk seqs that pass ``filters`` (None: no filter), cached per generation; call under the read lock."""
        if not filters:
            return None
        key = (self.generation, tuple(sorted(filters.items())))
        if key not in self._filter_cache:
            self._filter_cache[key] = allowed_seqs(self.chunks.values(), self.documents, filters)
        return self._filter_cache[key]
