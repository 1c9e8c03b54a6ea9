"""Writes: documents go to the catalogue first, one transaction each, after their chunks are embedded
(into the cache); the indexes then catch up (rag/retrieval/index_sync.py)."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

from corpus.catalogue import NewChunk
from corpus.chunking import normalise_for_hash
from corpus.injection import injection_flag
from corpus.loaders import SUPPORTED_SUFFIXES, LoadedDocument, load_file
from corpus.manifest import ManifestEntry, read_manifest
from corpus.models import DocumentRow
from corpus.urls import check_web_url
from rag.retrieval.chunker import chunk_document, expand_paths, slugify
from rag.retrieval.config import RetrievalConfig
from rag.retrieval.embedder import Embedder
from rag.retrieval.embedding_cache import EmbeddingCache, embed_with_cache
from rag.retrieval.errors import QueryError
from rag.retrieval.index_sync import IndexSync
from rag.retrieval.sentence_vectors import SentenceVectors
from rag.retrieval.types import IndexReport

log = logging.getLogger(__name__)


def load_for_index(path: Path, entries: dict[str, ManifestEntry]) -> LoadedDocument:
    """A corpus file as the indexer stores it: its stem is its stable id (re-indexing an edited file replaces
    it), the manifest's entry, when there is one, gives the citation fields."""
    doc = load_file(path).model_copy(update={"slug": slugify(path.stem)})
    entry = entries.get(path.stem)
    if entry is None:
        return doc
    return doc.model_copy(
        update={
            "slug": entry.slug,
            "title": entry.title,
            "author": entry.author,
            "year": entry.year,
            "url": entry.url,
            "licence": entry.licence,
        }
    )


# A marker in the index folder: some chunks were indexed without their sentence vectors (see _embed_chunks).
SENTENCES_DEFERRED = "sentence-vectors-deferred"


def deferred_marker(config: RetrievalConfig) -> Path:
    """The marker's path for the index these settings describe."""
    return config.index_dir / SENTENCES_DEFERRED


class Indexer:
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
        self._catalogue = sync.catalogue
        self._embedder = embedder
        self._rescore_embedder = rescore_embedder
        self._cache = cache
        self._sentences = sentences
        self._write_lock = threading.Lock()  # one document write at a time in this process

    def chunks_for(self, document_id: str, doc: LoadedDocument) -> list[NewChunk]:
        return chunk_document(document_id, doc, self.config, self._embedder)

    def _embed_chunks(self, chunks: Sequence[NewChunk], *, sentence_vectors: bool = True) -> None:
        """Everything a search may need from these chunks, into the embedding cache. Without
        ``sentence_vectors`` the second stage embeds a chunk's sentences the first time it ranks the chunk
        (``SentenceVectors.entries``): the shared corpus's ~73k sentences cost a first run ~10 minutes."""
        embed_with_cache(self._embedder, self._cache, [c.embed_text for c in chunks])
        if sentence_vectors and self.config.rescore and self.config.rescore_weight_sentence > 0:
            self._sentences.fill([c.text for c in chunks])
        # The second model's chunk vectors at index time (rescore_model_at_index) so queries only read
        # them; without it the first query that ranks a chunk embeds it.
        if self._rescore_embedder is not None and self.config.rescore_model_at_index:
            embed_with_cache(self._rescore_embedder, self._cache, [c.embed_text for c in chunks])

    def index_loaded(self, doc: LoadedDocument, *, sentence_vectors: bool = True) -> tuple[str, IndexReport]:
        report = IndexReport()
        sha = hashlib.sha256(normalise_for_hash(doc.text).encode("utf-8")).hexdigest()
        document_id = slugify(doc.slug or doc.title)
        with self._write_lock:
            same = self._catalogue.document_by_sha(sha)
            if same is not None:  # identical text already indexed (under this id or another)
                report.skipped = 1
                return same.document_id, report
            chunks = self.chunks_for(document_id, doc)
            if not chunks:
                raise QueryError(f"{doc.filename or doc.title}: no indexable text")
            # Embed before the catalogue write: the slow part runs while searches go on, and a crash
            # here leaves nothing behind but cached vectors.
            self._embed_chunks(chunks, sentence_vectors=sentence_vectors)
            row = DocumentRow(
                document_id=document_id,
                slug=doc.slug or document_id,
                title=doc.title,
                author=doc.author,
                year=doc.year,
                url=doc.url,
                licence=doc.licence,
                source_type=doc.source_type,
                sha256=sha,
                text=doc.text,
            )
            replaced, removed = self._catalogue.put_document(
                row, chunks, model_name=self._embedder.name, dimension=self._embedder.dimension
            )
            report.replaced, report.added = (1, 0) if replaced else (0, 1)
            report.chunks_added, report.chunks_removed = len(chunks), removed
        self._sync.catch_up()
        flagged = [c.chunk_id for c in chunks if injection_flag(c.text)]
        if flagged:
            log.warning(
                "%s: %d chunk(s) read as instructions to a model and are kept out of searches: %s "
                "(`cadenza documents flagged`)",
                document_id,
                len(flagged),
                ", ".join(flagged[:5]),
            )
        return document_id, report

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
        if not text.strip():
            raise QueryError("document text is empty")
        if not title.strip():
            raise QueryError("document title is empty")
        try:
            url = check_web_url(url)  # it becomes a link in citations: http(s) only
        except ValueError as err:
            raise QueryError(str(err)) from err
        doc = LoadedDocument(
            text=text,
            title=title.strip(),
            author=author,
            year=year,
            url=url,
            licence=licence,
            slug=slug,
            source_type=source_type,
        )
        return self.index_loaded(doc)

    def index_paths(
        self,
        paths: Sequence[Path],
        *,
        manifest: Path | None = None,
        progress: bool = False,
        sentence_vectors: bool = True,
    ) -> IndexReport:
        files = expand_paths(paths)
        if not files:
            raise QueryError(
                "no indexable files ("
                + ", ".join(SUPPORTED_SUFFIXES)
                + ") under "
                + ", ".join(map(str, paths))
            )
        entries: dict[str, ManifestEntry] = read_manifest(manifest) if manifest else {}
        total = IndexReport()
        from tqdm import tqdm

        marker = deferred_marker(self.config)
        bar = tqdm(files, disable=not progress, unit="doc", desc="indexing", dynamic_ncols=True)
        for path in bar:
            doc = load_for_index(path, entries)
            _, report = self.index_loaded(doc, sentence_vectors=sentence_vectors)
            if not sentence_vectors:
                # whoever opens this index later (the service) fills them in the background; marked after
                # each document, so a fill that ran meanwhile and finished does not leave this one out
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.touch()
            for field in IndexReport.model_fields:
                setattr(total, field, getattr(total, field) + getattr(report, field))
            bar.set_postfix(
                added=total.added, skipped=total.skipped, replaced=total.replaced, chunks=total.chunks_added
            )
        return total

    def remove_document(self, document_id: str) -> None:
        with self._write_lock:
            self._catalogue.remove_document(document_id)
        self._sync.catch_up()

    def rebuild(self, *, progress: bool = False) -> IndexReport:
        """Re-chunk every stored document for the current model and rebuild both indexes."""
        from tqdm import tqdm

        report = IndexReport()
        for info in tqdm(
            self._catalogue.list_documents(), disable=not progress, unit="doc", desc="rebuilding"
        ):
            row = self._catalogue.document(info.document_id)
            if row is None:
                continue
            doc = LoadedDocument(
                text=row.text,
                title=row.title,
                author=row.author,
                year=row.year,
                url=row.url,
                licence=row.licence,
                slug=row.slug,
                source_type=row.source_type,
            )
            chunks = self.chunks_for(row.document_id, doc)
            self._embed_chunks(chunks)
            fresh = DocumentRow(
                document_id=row.document_id,
                slug=row.slug,
                title=row.title,
                author=row.author,
                year=row.year,
                url=row.url,
                licence=row.licence,
                source_type=row.source_type,
                sha256=row.sha256,
                text=row.text,
            )
            with self._write_lock:
                _, removed = self._catalogue.put_document(
                    fresh, chunks, model_name=self._embedder.name, dimension=self._embedder.dimension
                )
            report.replaced += 1
            report.chunks_added += len(chunks)
            report.chunks_removed += removed
        self._sync.catch_up()
        return report
