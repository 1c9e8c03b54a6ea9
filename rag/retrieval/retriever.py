"""The Retriever: catalogue (source of truth) + derived BM25 and vector indexes + fusion + rerank.

Writes go to the catalogue first, in one transaction per document; the indexes then catch up by
comparing their chunk ids with the catalogue's (idempotent), so a crash at any point leaves no
partial document and no duplicate chunk, and every process that sees a newer catalogue generation
catches up before it answers."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import numpy as np

from corpus.errors import DocumentNotFound

from rag.retrieval.errors import IndexMismatch, QueryError
from api.settings import Settings
from corpus.catalogue import CATALOGUE_STATE, Catalogue, ChunkRecord, DocumentInfo, NewChunk
from corpus.chunking import chunk_text, normalise_for_hash, sentence_spans
from corpus.loaders import SUPPORTED_SUFFIXES, LoadedDocument, load_file
from corpus.manifest import ManifestEntry, read_manifest
from corpus.models import DocumentRow
from corpus.tags import tag_text
from rag.retrieval.bm25 import LexicalIndex, make_lexical_index
from rag.retrieval.embedder import SentenceTransformerEmbedder, load_embedder, load_rescore_embedder
from rag.retrieval.embedding_cache import EmbeddingCache, embed_with_cache, text_sha
from rag.retrieval.filters import allowed_seqs, validate_filters
from rag.retrieval.fusion import rrf
from rag.retrieval.rescore import blend_scores, reorder_top
from rag.retrieval.rwlock import ReadWriteLock
from rag.retrieval.types import IndexReport, SearchHit, SourceRef
from rag.retrieval.vectorstore import FaissStore, QdrantStore, VectorStore

log = logging.getLogger("cadenza.retrieval")

Mode = Literal["bm25", "dense", "hybrid", "rerank"]
MODES: tuple[str, ...] = ("bm25", "dense", "hybrid", "rerank")

__all__ = ["DocumentInfo", "MODES", "Retriever"]

SENTENCE_MAX_TOKENS = 200  # a longer "sentence" (a table, a list) is split at word boundaries
SENTENCE_VECTORS_KEPT = 2048  # chunks whose sentence vectors stay in memory for the second stage


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")[:80] or "document"


def context_header(title: str, author: str | None, section: str | None) -> str:
    """'Hofmann, Piano Playing — The Use of the Pedal': who, what, where, for the embedder only."""
    surname = ""
    if author:
        first = re.split(r"\s*(?:\(|,| and | & )", author)[0].strip()
        surname = first.split()[-1] if first.split() else ""
    short_title = re.split(r"[:;(]", title)[0].strip()
    head = f"{surname}, {short_title}" if surname else short_title
    if section and section.strip().lower() != short_title.lower():
        head += f" — {section.strip().title() if section.isupper() else section.strip()}"
    return head


class Retriever:
    def __init__(self, settings: Settings, *, embedder: SentenceTransformerEmbedder | None = None) -> None:
        self.settings = settings
        settings.home.mkdir(parents=True, exist_ok=True)
        self.catalogue = Catalogue(settings.resolved_database_url)
        self.embedder = embedder or load_embedder(settings)
        # The second stage's stronger model (None = off); loaded here so a missing model fails at open.
        self.rescore_embedder = load_rescore_embedder(settings) if settings.rescore and settings.rescore_model else None
        self.cache = EmbeddingCache(settings.resolved_embedding_cache_dir)
        state = self.catalogue.state(CATALOGUE_STATE)
        if state is not None and state.model_name and state.model_name != self.embedder.name:
            raise IndexMismatch(
                f"the catalogue at {settings.home} was chunked for {state.model_name} ({state.dimension}-d) but the "
                f"settings ask for {self.embedder.name} ({self.embedder.dimension}-d); run `cadenza index --rebuild`"
            )
        self._index_dir = settings.home / "index"
        self.lexical: LexicalIndex = make_lexical_index(settings.bm25_backend, self._index_dir / "bm25")
        self.vectors: VectorStore = self._open_vectors()
        self._lock = ReadWriteLock()  # searches read; catch-up writes
        self._write_lock = threading.Lock()  # one document write at a time in this process
        self._catch_up_lock = threading.Lock()
        self._generation = -1
        self._chunks: dict[int, ChunkRecord] = {}
        self._documents: dict[str, DocumentInfo] = {}
        self._filter_cache: dict[tuple[int, tuple[tuple[str, str], ...]], set[int]] = {}
        self._reranker = None
        # chunk text sha -> (its sentences, their (n, dim) vectors)
        self._sentence_vectors: OrderedDict[str, tuple[list[str], np.ndarray]] = OrderedDict()
        self._sentence_lock = threading.Lock()
        self._caught_up = threading.local()  # see caught_up_once
        self.catch_up()

    @classmethod
    def open(cls, settings: Settings) -> Retriever:
        return cls(settings)

    def _open_vectors(self) -> VectorStore:
        s = self.settings
        if s.vector_backend == "qdrant":
            return QdrantStore(
                path=None if s.qdrant_url else (s.qdrant_path or s.home / "qdrant"),
                url=s.qdrant_url,
                collection=s.qdrant_collection,
                model_name=self.embedder.name,
                dimension=self.embedder.dimension,
            )
        return FaissStore(self._index_dir / "faiss", model_name=self.embedder.name, dimension=self.embedder.dimension)

    # --- keeping the indexes in step with the catalogue ------------------------------------------
    @contextmanager
    def caught_up_once(self) -> Iterator[None]:
        """Searches on this thread inside the block skip the per-search generation check: the block catches
        up once at its start. For a caller that runs many searches to answer one request (feedback runs ~13),
        where a SELECT per search was ~1.6 ms each and a document arriving mid-request need not be seen."""
        if self._caught_up_here:
            yield
            return
        self.catch_up()
        self._caught_up.on = True
        try:
            yield
        finally:
            self._caught_up.on = False

    @property
    def _caught_up_here(self) -> bool:
        """Whether this thread is inside a ``caught_up_once`` block."""
        return getattr(self._caught_up, "on", False)

    def catch_up(self) -> int:
        """Bring both indexes and the in-memory chunk table to the catalogue's generation."""
        generation = self.catalogue.generation()
        if generation == self._generation:
            return generation
        with self._catch_up_lock:
            if generation == self._generation:
                return generation
            wanted = self.catalogue.chunk_seqs()
            lexical_ids, vector_ids = self.lexical.ids(), self.vectors.ids()
            need = (wanted - lexical_ids) | (wanted - vector_ids) | (wanted - set(self._chunks))
            fresh = {c.seq: c for c in self.catalogue.chunks(sorted(need))} if need else {}
            add_lex = sorted(wanted - lexical_ids)
            add_vec = sorted(wanted - vector_ids)
            vectors = embed_with_cache(self.embedder, self.cache, [self._record(s, fresh).embed_text for s in add_vec])
            documents = self.catalogue.documents_meta()
            with self._lock.write():
                self.lexical.delete(sorted(lexical_ids - wanted))
                self.vectors.delete(sorted(vector_ids - wanted))
                self.lexical.add(add_lex, [self._record(s, fresh).text for s in add_lex])
                self.vectors.add(add_vec, vectors)
                self._chunks = {s: self._chunks.get(s) or fresh[s] for s in wanted}
                self._documents = documents
                self._filter_cache.clear()
                self._generation = generation
            if add_lex or add_vec or lexical_ids - wanted or vector_ids - wanted or self.lexical.generation != generation:
                self.lexical.save(generation)
                self.vectors.save(generation)
        return generation

    def _record(self, seq: int, fresh: Mapping[int, ChunkRecord]) -> ChunkRecord:
        return fresh.get(seq) or self._chunks[seq]

    # --- indexing ---------------------------------------------------------------------------------
    def _max_chunk_tokens(self) -> int:
        limit = min(self.embedder.max_length, 512)
        reserve = (self.settings.header_max_tokens if self.settings.context_header else 0) + 4  # specials + newline
        return min(self.settings.chunk_tokens or limit - reserve, limit - reserve)

    def _chunks_for(self, document_id: str, doc: LoadedDocument) -> list[NewChunk]:
        spans = chunk_text(
            doc.text, count=self.embedder.count_tokens, max_tokens=self._max_chunk_tokens(), overlap=self.settings.chunk_overlap
        )
        chunks: list[NewChunk] = []
        for ordinal, span in enumerate(spans):
            embed_text = span.text
            if self.settings.context_header:
                header = context_header(doc.title, doc.author, span.section)
                header = self.embedder.truncate(header, self.settings.header_max_tokens)
                embed_text = f"{header}\n{span.text}"
            chunks.append(
                NewChunk(
                    chunk_id=f"{document_id}:{ordinal:04d}", ordinal=ordinal, section=span.section,
                    char_start=span.char_start, char_end=span.char_end, text=span.text, embed_text=embed_text,
                    n_tokens=span.n_tokens, tags=tag_text(span.text),
                )
            )
        return chunks

    def _sentences(self, text: str) -> list[str]:
        return [text[a:b] for a, b in sentence_spans(text, count=self.embedder.count_tokens, max_tokens=SENTENCE_MAX_TOKENS)]

    def _embed_sentences(self, texts: Sequence[str]) -> None:
        """Fill the embedding cache with the chunks' sentences, so the second stage only reads it."""
        if self.settings.rescore and self.settings.rescore_weight_sentence > 0:
            embed_with_cache(self.embedder, self.cache, list(dict.fromkeys(s for t in texts for s in self._sentences(t))))

    def _embed_for_rescore_model(self, texts: Sequence[str]) -> None:
        """Fill the cache with the second model's chunk vectors at index time (setting rescore_model_at_index),
        so queries only read them; without it the first query that ranks a chunk embeds it."""
        if self.rescore_embedder is not None and self.settings.rescore_model_at_index:
            embed_with_cache(self.rescore_embedder, self.cache, texts)

    def _rescore_model_cosines(self, query: str, seqs: Sequence[int]) -> dict[int, float]:
        """Query-chunk cosine by the second model (chunk vectors from the cache, embedding what it lacks)."""
        assert self.rescore_embedder is not None
        vector = self.rescore_embedder.encode_query(query)
        matrix = embed_with_cache(self.rescore_embedder, self.cache, [self._chunks[s].embed_text for s in seqs])
        return {s: float(v @ vector) for s, v in zip(seqs, matrix)}

    def _sentence_matrices(self, texts: Sequence[str]) -> list[np.ndarray]:
        return [vectors for _, vectors in self._sentence_entries(texts)]

    def _sentence_entries(self, texts: Sequence[str]) -> list[tuple[list[str], np.ndarray]]:
        """Sentences and sentence vectors of each chunk text: memory, else the embedding cache in one batched
        read (embedding what it lacks). The split is kept with the vectors: splitting counts word pieces, and
        re-splitting the candidates of every query cost feedback ~80 ms a request."""
        keys = [text_sha(t) for t in texts]
        with self._sentence_lock:
            found = {k: self._sentence_vectors[k] for k in keys if k in self._sentence_vectors}
            for k in found:
                self._sentence_vectors.move_to_end(k)
        missing = {k: t for k, t in zip(keys, texts) if k not in found}
        if missing:
            split = {k: self._sentences(t) for k, t in missing.items()}
            flat = [sentence for sentences in split.values() for sentence in sentences]
            vectors = embed_with_cache(self.embedder, self.cache, flat) if flat else None
            offset = 0
            for k, sentences in split.items():
                matrix = (vectors[offset : offset + len(sentences)] if vectors is not None
                          else np.zeros((0, self.embedder.dimension), np.float32))
                found[k] = (sentences, matrix)
                offset += len(sentences)
            with self._sentence_lock:
                for k in split:
                    self._sentence_vectors[k] = found[k]
                while len(self._sentence_vectors) > SENTENCE_VECTORS_KEPT:
                    self._sentence_vectors.popitem(last=False)
        return [found[k] for k in keys]

    def _index_loaded(self, doc: LoadedDocument) -> tuple[str, IndexReport]:
        report = IndexReport()
        sha = hashlib.sha256(normalise_for_hash(doc.text).encode("utf-8")).hexdigest()
        document_id = slugify(doc.slug or doc.title)
        with self._write_lock:
            same = self.catalogue.document_by_sha(sha)
            if same is not None:  # identical text already indexed (under this id or another)
                report.skipped = 1
                return same.document_id, report
            chunks = self._chunks_for(document_id, doc)
            if not chunks:
                raise QueryError(f"{doc.filename or doc.title}: no indexable text")
            # Embed before the catalogue write: the slow part runs while searches go on, and a crash
            # here leaves nothing behind but cached vectors.
            embed_with_cache(self.embedder, self.cache, [c.embed_text for c in chunks])
            self._embed_sentences([c.text for c in chunks])
            self._embed_for_rescore_model([c.embed_text for c in chunks])
            row = DocumentRow(
                document_id=document_id, slug=doc.slug or document_id, title=doc.title, author=doc.author, year=doc.year,
                url=doc.url, licence=doc.licence, source_type=doc.source_type, sha256=sha, text=doc.text,
            )
            replaced, removed = self.catalogue.put_document(row, chunks, model_name=self.embedder.name, dimension=self.embedder.dimension)
            report.replaced, report.added = (1, 0) if replaced else (0, 1)
            report.chunks_added, report.chunks_removed = len(chunks), removed
        self.catch_up()
        return document_id, report

    def index_document(
        self, *, text: str, title: str, author: str | None = None, year: str | None = None, url: str | None = None,
        licence: str | None = None, slug: str | None = None, source_type: str = "book",
    ) -> tuple[str, IndexReport]:
        if not text.strip():
            raise QueryError("document text is empty")
        if not title.strip():
            raise QueryError("document title is empty")
        doc = LoadedDocument(text=text, title=title.strip(), author=author, year=year, url=url, licence=licence,
                             slug=slug, source_type=source_type)
        return self._index_loaded(doc)

    def index_paths(self, paths: Sequence[Path], *, manifest: Path | None = None, progress: bool = False) -> IndexReport:
        files = _expand(paths)
        if not files:
            raise QueryError("no indexable files (" + ", ".join(SUPPORTED_SUFFIXES) + ") under " + ", ".join(map(str, paths)))
        entries: dict[str, ManifestEntry] = read_manifest(manifest) if manifest else {}
        total = IndexReport()
        from tqdm import tqdm

        bar = tqdm(files, disable=not progress, unit="doc", desc="indexing", dynamic_ncols=True)
        for path in bar:
            doc = load_file(path)
            entry = entries.get(path.stem)
            # A file's stem is its stable id: re-indexing an edited file replaces it.
            doc = doc.model_copy(update={"slug": slugify(path.stem)})
            if entry is not None:
                doc = doc.model_copy(update={"slug": entry.slug, "title": entry.title, "author": entry.author,
                                             "year": entry.year, "url": entry.url, "licence": entry.licence})
            _, report = self._index_loaded(doc)
            for field in IndexReport.model_fields:
                setattr(total, field, getattr(total, field) + getattr(report, field))
            bar.set_postfix(added=total.added, skipped=total.skipped, replaced=total.replaced, chunks=total.chunks_added)
        return total

    def remove_document(self, document_id: str) -> None:
        with self._write_lock:
            self.catalogue.remove_document(document_id)
        self.catch_up()

    def rebuild(self, *, progress: bool = False) -> IndexReport:
        """Re-chunk every stored document for the current model and rebuild both indexes."""
        from tqdm import tqdm

        report = IndexReport()
        for info in tqdm(self.catalogue.list_documents(), disable=not progress, unit="doc", desc="rebuilding"):
            row = self.catalogue.document(info.document_id)
            if row is None:
                continue
            doc = LoadedDocument(text=row.text, title=row.title, author=row.author, year=row.year, url=row.url,
                                 licence=row.licence, slug=row.slug, source_type=row.source_type)
            chunks = self._chunks_for(row.document_id, doc)
            embed_with_cache(self.embedder, self.cache, [c.embed_text for c in chunks])
            self._embed_sentences([c.text for c in chunks])
            self._embed_for_rescore_model([c.embed_text for c in chunks])
            fresh = DocumentRow(document_id=row.document_id, slug=row.slug, title=row.title, author=row.author, year=row.year,
                                url=row.url, licence=row.licence, source_type=row.source_type, sha256=row.sha256, text=row.text)
            with self._write_lock:
                _, removed = self.catalogue.put_document(fresh, chunks, model_name=self.embedder.name, dimension=self.embedder.dimension)
            report.replaced += 1
            report.chunks_added += len(chunks)
            report.chunks_removed += removed
        self.catch_up()
        return report

    def list_documents(self) -> list[DocumentInfo]:
        return self.catalogue.list_documents()

    # --- search -----------------------------------------------------------------------------------
    def _allowed(self, filters: dict[str, str]) -> set[int] | None:
        if not filters:
            return None
        key = (self._generation, tuple(sorted(filters.items())))
        if key not in self._filter_cache:
            self._filter_cache[key] = allowed_seqs(self._chunks.values(), self._documents, filters)
        return self._filter_cache[key]

    def _rerank_model(self):  # type: ignore[no-untyped-def]
        if self.settings.reranker_model is None:
            raise QueryError("mode 'rerank' needs a cross-encoder: set CADENZA_RERANKER_MODEL (name or path)")
        if self._reranker is None:
            from rag.retrieval.reranker import load_reranker

            self._reranker = load_reranker(self.settings.reranker_model, max_length=self.settings.reranker_max_length)
        return self._reranker

    def search(self, query: str, *, mode: Mode = "hybrid", k: int | None = None, filters: Mapping[str, str] | None = None,
               second_model: bool = True) -> list[SearchHit]:
        return self.search_timed(query, mode=mode, k=k, filters=filters, second_model=second_model)[0]

    def search_timed(
        self, query: str, *, mode: Mode = "hybrid", k: int | None = None, filters: Mapping[str, str] | None = None,
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
        k = k if k is not None else self.settings.top_k
        if k < 1:
            raise QueryError("k must be at least 1")
        clean_filters = validate_filters(filters)
        reranker = self._rerank_model() if mode == "rerank" else None
        t = time.perf_counter()
        if not self._caught_up_here:
            self.catch_up()
        timings["catch_up"] = _ms(t)
        if not self._chunks:
            raise QueryError("the index is empty: index documents first (`cadenza index`)")
        n_candidates = max(self.settings.candidates_per_retriever, k)
        query_vector = None
        if mode in ("dense", "hybrid", "rerank"):
            t = time.perf_counter()
            query_vector = self.embedder.encode_query(query)
            timings["encode"] = _ms(t)
        with self._lock.read():
            allowed = self._allowed(clean_filters)
            lexical: list[tuple[int, float]] = []
            dense: list[tuple[int, float]] = []
            if mode != "dense":
                t = time.perf_counter()
                lexical = self.lexical.search(query, k if mode == "bm25" else n_candidates, allowed)
                timings["bm25"] = _ms(t)
            if query_vector is not None:
                t = time.perf_counter()
                dense = self.vectors.search(query_vector, k if mode == "dense" else n_candidates, allowed)
                timings["dense"] = _ms(t)
            if mode == "bm25":
                ranked = lexical
            elif mode == "dense":
                ranked = dense
            else:
                t = time.perf_counter()
                ranked = rrf(
                    [[s for s, _ in lexical], [s for s, _ in dense]],
                    k=self.settings.rrf_k,
                    weights=[self.settings.rrf_weight_bm25, self.settings.rrf_weight_dense],
                )
                timings["fusion"] = _ms(t)
                if self.settings.rescore and query_vector is not None:
                    t = time.perf_counter()
                    ranked = self._rescore(query, query_vector, ranked, lexical, dense, second_model=second_model)
                    timings["rescore"] = _ms(t)
            records = {s: self._chunks[s] for s, _ in ranked if s in self._chunks}
            documents = self._documents
        if reranker is not None:
            t = time.perf_counter()
            pool = [(s, records[s]) for s, _ in ranked[: self.settings.rerank_candidates] if s in records]
            scores = reranker.score(query, [r.embed_text for _, r in pool])
            ranked = sorted(((s, float(v)) for (s, _), v in zip(pool, scores)), key=lambda x: -x[1])
            timings["rerank"] = _ms(t)
        hits: list[SearchHit] = []
        for seq, score in ranked:
            record = records.get(seq)
            if record is None:
                continue
            doc = documents[record.document_id]
            hits.append(
                SearchHit(
                    rank=len(hits) + 1, score=float(score), chunk_id=record.chunk_id, text=record.text, section=record.section,
                    char_start=record.char_start, char_end=record.char_end,
                    source=SourceRef(document_id=doc.document_id, title=doc.title, author=doc.author, year=doc.year, url=doc.url),
                )
            )
            if len(hits) == k:
                break
        timings["total"] = _ms(started)
        return hits, timings

    def _rescore(
        self, query: str, query_vector: np.ndarray, ranked: list[tuple[int, float]], lexical: list[tuple[int, float]],
        dense: list[tuple[int, float]], *, second_model: bool = True,
    ) -> list[tuple[int, float]]:
        """Blend BM25, cosine and best-sentence cosine over every fused candidate (rag/retrieval/rescore.py); a
        candidate that only one retriever returned gets its other score by a search restricted to it (the
        candidates already passed the filters)."""
        candidates = [s for s, _ in ranked]
        bm25, cosine = dict(lexical), dict(dense)
        no_bm25 = {s for s in candidates if s not in bm25}
        if no_bm25:
            bm25.update(self.lexical.search(query, len(no_bm25), no_bm25))
        no_cosine = {s for s in candidates if s not in cosine}
        if no_cosine:
            cosine.update(self.vectors.search(query_vector, len(no_cosine), no_cosine))
        candidates = [s for s in candidates if s in cosine]  # a store answers for every id it holds
        top = lexical[0][1] if lexical else 0.0
        w_sentence = self.settings.rescore_weight_sentence
        sentence: dict[int, float] = {}
        if w_sentence > 0:
            vector = np.asarray(query_vector, dtype=np.float32).reshape(-1)
            matrices = self._sentence_matrices([self._chunks[seq].text for seq in candidates])
            for seq, matrix in zip(candidates, matrices):
                if len(matrix):
                    sentence[seq] = float((matrix @ vector).max())
        blended = blend_scores(candidates, bm25, cosine, bm25_top=top, weight_bm25=self.settings.rescore_weight_bm25,
                               sentence=sentence, weight_sentence=w_sentence)
        if self.rescore_embedder is None or not second_model or not blended:
            return blended
        n = self.settings.rescore_model_candidates
        model_cosine = self._rescore_model_cosines(query, [seq for seq, _ in blended[:n]])
        return reorder_top(blended, model_cosine, weight=self.settings.rescore_model_weight, n=n)

    def best_sentences(self, query: str, texts: Sequence[str], *, min_words: int = 6) -> list[tuple[str, float]]:
        """For each text, its sentence closest to ``query`` (MiniLM cosine) and that cosine; ("", -1.0) when a
        text has no sentence. Sentences under ``min_words`` words count only when a text has no longer one.

        Reads the sentence vectors the second stage caches, so feedback can rank passages and pick quotes by
        what they say about a weak dimension at the cost of one query encoding."""
        if not query or not query.strip():
            raise QueryError("the query is empty")
        vector = np.asarray(self.embedder.encode_query(query), dtype=np.float32).reshape(-1)
        out: list[tuple[str, float]] = []
        for sentences, matrix in self._sentence_entries(list(texts)):
            if not len(matrix) or len(sentences) != len(matrix):
                out.append(("", -1.0))
                continue
            scores = matrix @ vector
            long_enough = [i for i, s in enumerate(sentences) if len(s.split()) >= min_words] or list(range(len(sentences)))
            best = max(long_enough, key=lambda i: (float(scores[i]), -i))
            out.append((" ".join(sentences[best].split()), float(scores[best])))
        return out

    def chunk_tags(self, chunk_id: str) -> dict[str, list[str]]:
        for record in self._chunks.values():
            if record.chunk_id == chunk_id:
                return record.tags
        raise DocumentNotFound(f"no chunk {chunk_id!r}")

    @property
    def n_chunks(self) -> int:
        return len(self._chunks)

    def close(self) -> None:
        self.vectors.close()
        self.cache.close()
        self.catalogue.close()


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def _expand(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES))
        elif path.is_file():
            files.append(path)
        else:
            raise QueryError(f"{path}: no such file or directory")
    return files
