"""Embedding cache keyed by (model, SHA-256 of the embedded text): rebuilds, evaluations and tests
never embed the same text twice. One SQLite file, safe to share between processes (WAL)."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def text_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "embeddings.sqlite"
        self._conn = sqlite3.connect(self.path, timeout=60, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (model TEXT NOT NULL, sha TEXT NOT NULL, "
            "vector BLOB NOT NULL, PRIMARY KEY (model, sha)) WITHOUT ROWID"
        )
        self._lock = threading.Lock()

    def get_many(self, model: str, shas: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for offset in range(0, len(shas), 500):
                batch = list(shas[offset : offset + 500])
                marks = ",".join("?" * len(batch))
                rows = self._conn.execute(
                    f"SELECT sha, vector FROM embeddings WHERE model = ? AND sha IN ({marks})", [model, *batch]
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

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def embed_with_cache(embedder, cache: EmbeddingCache | None, texts: Sequence[str]) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Embed ``texts`` (document side), computing only those the cache lacks."""
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    if cache is None:
        return embedder.encode_documents(texts)
    shas = [text_sha(t) for t in texts]
    found = cache.get_many(embedder.name, list(dict.fromkeys(shas)))
    missing = [i for i, s in enumerate(shas) if s not in found]
    if missing:
        unique: dict[str, str] = {}
        for i in missing:
            unique.setdefault(shas[i], texts[i])
        vectors = embedder.encode_documents(list(unique.values()))
        new = list(zip(unique.keys(), vectors))
        cache.put_many(embedder.name, new)
        found.update(dict(new))
    return np.stack([found[s] for s in shas]).astype(np.float32)
