"""Embedding cache keyed by (model, SHA-256 of the embedded text): rebuilds, evaluations and tests
never embed the same text twice. One SQLite file, safe to share between processes (WAL).

The Retriever keeps ``embeddings.sqlite`` in its cache folder (``EmbeddingCache.in_dir``); rag-eval's naive
baseline keeps its own file beside it, through the same class."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

Encode = Callable[[list[str]], np.ndarray]


def text_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class DocumentEncoder(Protocol):
    name: str
    dimension: int

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray: ...


class VectorSource(Protocol):
    """Read-only vectors made elsewhere (a precomputed vector file): consulted before encoding."""

    def vectors_for(self, model: str, shas: Sequence[str]) -> dict[str, np.ndarray]: ...


class EmbeddingCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(path, timeout=60, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (model TEXT NOT NULL, sha TEXT NOT NULL, "
            "vector BLOB NOT NULL, PRIMARY KEY (model, sha)) WITHOUT ROWID"
        )
        self._lock = threading.Lock()
        self._sources: list[VectorSource] = []

    def add_source(self, source: VectorSource) -> None:
        """Vectors ``embed`` takes from ``source`` (and stores) before it encodes anything itself."""
        self._sources.append(source)

    @classmethod
    def in_dir(cls, directory: Path) -> EmbeddingCache:
        """The Retriever's cache: ``embeddings.sqlite`` in ``directory``."""
        return cls(directory / "embeddings.sqlite")

    def get_many(self, model: str, shas: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for offset in range(0, len(shas), 500):
                batch = list(shas[offset : offset + 500])
                marks = ",".join("?" * len(batch))
                rows = self._conn.execute(
                    f"SELECT sha, vector FROM embeddings WHERE model = ? AND sha IN ({marks})",
                    [model, *batch],
                ).fetchall()
                for sha, blob in rows:
                    found[sha] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, model: str, items: Sequence[tuple[str, np.ndarray]]) -> None:
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany(
                "INSERT OR IGNORE INTO embeddings (model, sha, vector) VALUES (?, ?, ?)",
                [(model, sha, np.asarray(v, dtype=np.float32).tobytes()) for sha, v in items],
            )
            self._conn.execute("COMMIT")

    def embed(
        self,
        model: str,
        texts: Sequence[str],
        encode: Encode,
        *,
        batch: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Vectors of ``texts`` (float32 rows, in order); only the texts the cache lacks go through ``encode``.

        ``batch=None`` encodes them in one call, in first-seen order. ``batch=N`` encodes N at a time in
        length order, ties by SHA (the batches do not depend on the caller's order, and texts of one length
        share a batch: padding a short sentence to a long one's length made sentence batches ~1.6x slower),
        and stores each batch as it completes, so a long run that is stopped keeps what it embedded.
        ``progress`` gets counts of texts done."""
        shas = [text_sha(t) for t in texts]
        found = self.get_many(model, list(dict.fromkeys(shas)))
        todo: dict[str, str] = {}
        for sha, text in zip(shas, texts, strict=True):
            if sha not in found:
                todo.setdefault(sha, text)
        for source in self._sources:
            if not todo:
                break
            given = source.vectors_for(model, list(todo))
            if given:
                self.put_many(model, list(given.items()))
                found.update(given)
                todo = {sha: text for sha, text in todo.items() if sha not in given}
        if progress:
            progress(len(texts) - len(todo))
        pending = (
            list(todo.items())
            if batch is None
            else sorted(todo.items(), key=lambda item: (len(item[1]), item[0]))
        )
        step = batch or max(len(pending), 1)
        for offset in range(0, len(pending), step):
            part = pending[offset : offset + step]
            vectors = np.asarray(encode([t for _, t in part]), dtype=np.float32)
            new = [(sha, v) for (sha, _), v in zip(part, vectors, strict=True)]
            self.put_many(model, new)
            found.update(new)
            if progress:
                progress(len(part))
        if not shas:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([found[s] for s in shas]).astype(np.float32)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def embed_with_cache(
    embedder: DocumentEncoder, cache: EmbeddingCache | None, texts: Sequence[str]
) -> np.ndarray:
    """Embed ``texts`` (document side), computing only those the cache lacks."""
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    if cache is None:
        return embedder.encode_documents(texts)
    # Stored 64 at a time: a slow model's long run that is stopped keeps what it embedded.
    return cache.embed(embedder.name, texts, lambda batch: embedder.encode_documents(batch), batch=64)
