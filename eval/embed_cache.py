"""Embeddings cached by (model, text hash) in a SQLite file, so no evaluation embeds a text twice."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np


class EmbeddingCache:
    def __init__(self, path: Path, model: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=120)
        self._db.execute("CREATE TABLE IF NOT EXISTS emb (model TEXT, sha TEXT, vec BLOB, PRIMARY KEY (model, sha))")
        self.model = model

    @staticmethod
    def _sha(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def embed(
        self, texts: Sequence[str], encode: Callable[[list[str]], np.ndarray], *, batch: int = 256,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Vectors for `texts` (float32 rows); only the texts not cached yet go through `encode`."""
        shas = [self._sha(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(shas), 500):
            part = shas[i : i + 500]
            marks = ",".join("?" * len(part))
            rows = self._db.execute(f"SELECT sha, vec FROM emb WHERE model=? AND sha IN ({marks})", [self.model, *part])
            found.update((sha, np.frombuffer(vec, dtype=np.float32)) for sha, vec in rows)
        todo = sorted({s: t for s, t in zip(shas, texts, strict=True) if s not in found}.items())
        if progress:
            progress(len(texts) - len(todo))
        for i in range(0, len(todo), batch):
            part = todo[i : i + batch]
            vecs = np.asarray(encode([t for _, t in part]), dtype=np.float32)
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO emb VALUES (?, ?, ?)", [(self.model, s, v.tobytes()) for (s, _), v in zip(part, vecs, strict=True)]
                )
            found.update((s, v) for (s, _), v in zip(part, vecs, strict=True))
            if progress:
                progress(len(part))
        return np.stack([found[s] for s in shas]) if shas else np.zeros((0, 0), dtype=np.float32)

    def close(self) -> None:
        self._db.close()
