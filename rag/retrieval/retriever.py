"""The Retriever: catalogue (source of truth) + derived BM25 and vector indexes + fusion + rerank.

A facade over the parts: chunking (chunker.py), writes (indexing.py), keeping the indexes in step with
the catalogue (index_sync.py), sentence vectors (sentence_vectors.py) and search (search.py)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from corpus.catalogue import CATALOGUE_STATE, Catalogue, ChunkRecord, DocumentInfo
from corpus.errors import DocumentNotFound
from rag.retrieval.bm25 import LexicalIndex, make_lexical_index
from rag.retrieval.config import RetrievalConfig
from rag.retrieval.embedder import (
    Embedder,
    load_embedder,
    load_rescore_embedder,
    load_sentence_embedder,
)
from rag.retrieval.embedding_cache import EmbeddingCache
from rag.retrieval.errors import IndexMismatch, RetrievalConfigError
from rag.retrieval.index_sync import IndexSync
from rag.retrieval.indexing import Indexer, deferred_marker
from rag.retrieval.search import MODES, Mode, Searcher
from rag.retrieval.sentence_vectors import SentenceVectors
from rag.retrieval.types import FlaggedChunk, IndexReport, SearchHit
from rag.retrieval.vector_file import PrecomputedVectors
from rag.retrieval.vectorstore import FaissStore, QdrantStore, VectorStore

log = logging.getLogger(__name__)

__all__ = ["MODES", "DocumentInfo", "Mode", "Retriever"]


class Retriever:
    def __init__(self, config: RetrievalConfig, *, embedder: Embedder | None = None) -> None:
        self.config = config
        config.home.mkdir(parents=True, exist_ok=True)
        self.catalogue = Catalogue(config.database_url)
        self.embedder = embedder or load_embedder(config)
        # The second stage's stronger model (None = off); loaded here so a missing model fails at open.
        self.rescore_embedder = (
            load_rescore_embedder(config) if config.rescore and config.rescore_model else None
        )
        self.cache = EmbeddingCache.in_dir(config.embedding_cache_dir)
        if config.vector_file is not None and config.vector_file.is_file():
            # Precomputed corpus vectors (a speed-up only: a file that cannot be read is passed over, said once)
            try:
                self.cache.add_source(PrecomputedVectors(config.vector_file))
            except RetrievalConfigError as err:
                log.warning("precomputed vectors not used: %s", err)
        state = self.catalogue.state(CATALOGUE_STATE)
        if state is not None and state.model_name and state.model_name != self.embedder.name:
            raise IndexMismatch(
                f"the catalogue at {config.home} was chunked for {state.model_name} ({state.dimension}-d) but the "
                f"settings ask for {self.embedder.name} ({self.embedder.dimension}-d); run `cadenza index --rebuild`"
            )
        self.lexical: LexicalIndex = make_lexical_index(config.bm25_backend, config.index_dir / "bm25")
        self.vectors: VectorStore = self._open_vectors()
        self.sync = IndexSync(self.catalogue, self.lexical, self.vectors, self.embedder, self.cache)
        sentence_embedder = (
            self.embedder
            if not config.sentence_model or config.sentence_model == config.embedding_model
            else load_sentence_embedder(config)
        )
        self.sentences = SentenceVectors(sentence_embedder, self.cache)
        self.indexer = Indexer(
            config, self.sync, self.embedder, self.rescore_embedder, self.cache, self.sentences
        )
        self.searcher = Searcher(
            config, self.sync, self.embedder, self.rescore_embedder, self.cache, self.sentences
        )
        self.catch_up()

    @classmethod
    def open(cls, config: RetrievalConfig) -> Retriever:
        return cls(config)

    def _open_vectors(self) -> VectorStore:
        c = self.config
        if c.vector_backend == "qdrant":
            return QdrantStore(
                path=c.qdrant_path,
                url=c.qdrant_url,
                collection=c.qdrant_collection,
                model_name=self.embedder.name,
                dimension=self.embedder.dimension,
            )
        return FaissStore(
            c.index_dir / "faiss", model_name=self.embedder.name, dimension=self.embedder.dimension
        )

    # --- keeping the indexes in step with the catalogue ------------------------------------------
    def caught_up_once(self) -> AbstractContextManager[None]:
        """Searches on this thread inside the block catch up once, at its start (see IndexSync)."""
        return self.sync.caught_up_once()

    def catch_up(self) -> int:
        """Bring both indexes and the in-memory chunk table to the catalogue's generation."""
        return self.sync.catch_up()

    @property
    def _chunks(self) -> dict[int, ChunkRecord]:
        """The in-memory chunk table by seq (read by the evaluation and the tests)."""
        return self.sync.chunks

    # --- indexing ---------------------------------------------------------------------------------
    def index_document(
        self,
        *,
        text: str,
        title: str,
        author: str | None = None,
        year: str | None = None,
        url: str | None = None,
        licence: str | None = None,
        slug: str | None = None,
        source_type: str = "book",
    ) -> tuple[str, IndexReport]:
        return self.indexer.index_document(
            text=text,
            title=title,
            author=author,
            year=year,
            url=url,
            licence=licence,
            slug=slug,
            source_type=source_type,
        )

    def index_paths(
        self,
        paths: Sequence[Path],
        *,
        manifest: Path | None = None,
        progress: bool = False,
        sentence_vectors: bool = True,
    ) -> IndexReport:
        return self.indexer.index_paths(
            paths, manifest=manifest, progress=progress, sentence_vectors=sentence_vectors
        )

    def remove_document(self, document_id: str) -> None:
        self.indexer.remove_document(document_id)

    def fill_sentence_vectors(self, *, stop: threading.Event | None = None) -> int:
        """Embed the sentences a first run's index left to the searches (``index_paths(sentence_vectors=False)``
        marks the index), 32 chunks at a time, so searches wait for one batch at most; the service calls it in
        the background as it starts. One process at a time fills (a lock file beside the marker: the other
        workers return at once); chunks indexed meanwhile are filled too before the marker goes. Returns the
        chunks gone through (0: nothing was deferred, or another process is filling)."""
        import fcntl

        marker = deferred_marker(self.config)
        if not marker.exists():
            return 0
        if not (self.config.rescore and self.config.rescore_weight_sentence > 0):
            marker.unlink(missing_ok=True)  # no search reads them
            return 0
        with open(marker.with_suffix(".lock"), "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return 0
            done: set[int] = set()
            while True:
                self.catch_up()  # chunks another process indexed since this one opened
                todo = [c for seq, c in list(self.sync.chunks.items()) if seq not in done]
                if not todo:
                    break
                for start in range(0, len(todo), 32):
                    if stop is not None and stop.is_set():
                        return len(done)
                    batch = todo[start : start + 32]
                    self.sentences.fill([c.text for c in batch])
                    done.update(c.seq for c in batch)
            marker.unlink(missing_ok=True)
        return len(done)

    def rebuild(self, *, progress: bool = False) -> IndexReport:
        """Re-chunk every stored document for the current model and rebuild both indexes."""
        return self.indexer.rebuild(progress=progress)

    def list_documents(self) -> list[DocumentInfo]:
        return self.catalogue.list_documents()

    # --- search -----------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        mode: Mode = "hybrid",
        k: int | None = None,
        filters: Mapping[str, str] | None = None,
        second_model: bool = True,
    ) -> list[SearchHit]:
        return self.searcher.search_timed(query, mode=mode, k=k, filters=filters, second_model=second_model)[
            0
        ]

    def search_timed(
        self,
        query: str,
        *,
        mode: Mode = "hybrid",
        k: int | None = None,
        filters: Mapping[str, str] | None = None,
        second_model: bool = True,
    ) -> tuple[list[SearchHit], dict[str, float]]:
        """``second_model=False`` skips the second model's re-ordering of the blend's head."""
        return self.searcher.search_timed(query, mode=mode, k=k, filters=filters, second_model=second_model)

    def best_sentences(
        self, query: str, texts: Sequence[str], *, min_words: int = 6
    ) -> list[tuple[str, float]]:
        """For each text, its sentence closest to ``query`` (MiniLM cosine) and that cosine; ("", -1.0) when a
        text has no sentence. Sentences under ``min_words`` words count only when a text has no longer one.

        Reads the sentence vectors the second stage caches, so feedback can rank passages and pick quotes by
        what they say about a weak dimension at the cost of one query encoding."""
        return self.sentences.best_sentences(query, texts, min_words=min_words)

    def flagged_chunks(self) -> list[FlaggedChunk]:
        """Chunks whose text reads as instructions to a model (corpus/injection.py), in catalogue order:
        searches never return them, so feedback and the tutor never quote them; an admin reviews them here."""
        self.sync.catch_up()
        with self.sync.lock.read():
            records = [self.sync.chunks[s] for s in sorted(self.sync.flagged)]
            documents = self.sync.documents
        return [
            FlaggedChunk(
                chunk_id=r.chunk_id,
                document_id=r.document_id,
                title=documents[r.document_id].title,
                section=r.section,
                char_start=r.char_start,
                char_end=r.char_end,
                reason=r.flag or "",
                text=r.text,
            )
            for r in records
        ]

    def chunk_tags(self, chunk_id: str) -> dict[str, list[str]]:
        for record in self.sync.chunks.values():
            if record.chunk_id == chunk_id:
                return record.tags
        raise DocumentNotFound(f"no chunk {chunk_id!r}")

    @property
    def n_chunks(self) -> int:
        return len(self.sync.chunks)

    def close(self) -> None:
        self.vectors.close()
        self.cache.close()
        self.catalogue.close()
