"""Lexical (BM25) indexes behind one interface. Query terms are OR-ed: a chunk matching any term
scores, more matching terms score higher (no implicit AND).

* ``bm25s`` (default): sparse precomputed scores, vectorised per query; no native incremental
  update, so add/delete re-derive the matrix from the cached token lists (no re-tokenising, no
  catalogue read). Measured fastest at equal quality (``python -m eval.bench_retrieval``).
* ``fts5``: SQLite FTS5 with its bm25() ranking; truly incremental and on disk.
* ``rank_bm25``: the reference named in the product card; scores every chunk in Python per query.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import sqlite3
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    import bm25s.stopwords

    return frozenset(bm25s.stopwords.STOPWORDS_EN)


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Lower-case words, English stop words removed, Snowball-stemmed."""
    stop = _stopwords()
    words = [w for w in _WORD.findall(text.lower().replace("’", "'")) if w not in stop and len(w) > 1]
    return _stemmer().stemWords(words)


class LexicalIndex(Protocol):
    generation: int

    def ids(self) -> set[int]: ...
    def add(self, seqs: Sequence[int], texts: Sequence[str]) -> None: ...
    def delete(self, seqs: Sequence[int]) -> None: ...
    def search(self, query: str, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]: ...
    def save(self, generation: int) -> None: ...


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


def _atomic_pickle(path: Path, payload: object) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as handle:
        pickle.dump(payload, handle, protocol=pickle.HIGHEST_PROTOCOL)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _ranked(
    scores: np.ndarray, mask: np.ndarray | None, seq_array: np.ndarray, k: int
) -> list[tuple[int, float]]:
    """Top ``k`` (chunk seq, score) pairs with a positive score, outside the filter mask dropped."""
    if mask is not None:
        scores = np.where(mask, scores, 0.0)
    top = _top_k(scores, k)
    return [(int(seq_array[i]), float(scores[i])) for i in top if scores[i] > 0]


class _TokenListIndex:
    """Common part of the in-memory backends: token lists per chunk, persisted atomically."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.generation = 0
        self._seqs: list[int] = []
        self._tokens: list[list[str]] = []
        self._seq_array = np.zeros(
            0, dtype=np.int64
        )  # the seqs as rows of a score array, set at each rebuild
        self._dirty = True
        self._lock = threading.RLock()
        if path is not None and path.is_file():
            with open(path, "rb") as handle:
                payload = pickle.load(handle)
            self.generation, self._seqs, self._tokens = (
                payload["generation"],
                payload["seqs"],
                payload["tokens"],
            )

    def ids(self) -> set[int]:
        return set(self._seqs)

    def add(self, seqs: Sequence[int], texts: Sequence[str]) -> None:
        self.add_tokens(seqs, [tokenize(t) for t in texts])

    def add_tokens(self, seqs: Sequence[int], tokens: Sequence[list[str]]) -> None:
        with self._lock:
            present = set(self._seqs)
            for seq, toks in zip(seqs, tokens, strict=False):
                if seq not in present:  # idempotent: catching up twice adds nothing
                    self._seqs.append(int(seq))
                    self._tokens.append(list(toks))
            self._dirty = True

    def delete(self, seqs: Sequence[int]) -> None:
        gone = set(int(s) for s in seqs)
        if not gone:
            return
        with self._lock:
            keep = [i for i, s in enumerate(self._seqs) if s not in gone]
            self._seqs = [self._seqs[i] for i in keep]
            self._tokens = [self._tokens[i] for i in keep]
            self._dirty = True

    def save(self, generation: int) -> None:
        with self._lock:
            self.generation = generation
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                _atomic_pickle(
                    self.path, {"generation": generation, "seqs": self._seqs, "tokens": self._tokens}
                )

    def _mask(self, allowed: set[int] | None) -> np.ndarray | None:
        """Which rows of the (freshly rebuilt) score array are allowed; vectorised, since a Python loop over
        every chunk cost ~7 ms per filtered query at corpus size."""
        if allowed is None:
            return None
        return np.isin(self._seq_array, np.fromiter(allowed, dtype=np.int64, count=len(allowed)))


class Bm25sIndex(_TokenListIndex):
    def __init__(self, path: Path | None = None) -> None:
        super().__init__(path)
        self._model = None
        self._vocab: dict[str, int] = {}

    def _rebuild(self) -> None:
        import bm25s

        # bm25s sets its logger to DEBUG on import and logs every index build; quiet it once loaded.
        logging.getLogger("bm25s").setLevel(logging.WARNING)

        self._seq_array = np.asarray(self._seqs, dtype=np.int64)
        if not self._seqs:
            self._model = None
            return
        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(t, len(vocab)) for t in toks] for toks in self._tokens]
        model = bm25s.BM25()
        model.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
        self._model, self._vocab = model, vocab
        self._dirty = False

    def search(self, query: str, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        terms = tokenize(query)
        with self._lock:
            if self._dirty:
                self._rebuild()
            if self._model is None:
                return []
            query_ids = [self._vocab[t] for t in terms if t in self._vocab]
            if not query_ids:
                return []
            scores = self._model.get_scores(query_ids)
            mask = self._mask(allowed)
            seq_array = self._seq_array
        return _ranked(scores, mask, seq_array, k)


class RankBm25Index(_TokenListIndex):
    def __init__(self, path: Path | None = None) -> None:
        super().__init__(path)
        self._model = None

    def search(self, query: str, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        from rank_bm25 import BM25Okapi

        terms = tokenize(query)
        with self._lock:
            if self._dirty:
                self._model = BM25Okapi(self._tokens) if self._tokens else None
                self._seq_array = np.asarray(self._seqs, dtype=np.int64)
                self._dirty = False
            if self._model is None or not terms:
                return []
            scores = np.asarray(self._model.get_scores(terms))
            mask = self._mask(allowed)
            seq_array = self._seq_array
        return _ranked(scores, mask, seq_array, k)


class Fts5Index:
    """SQLite FTS5 on its own file; we feed it our own stemmed tokens so all backends agree on terms."""

    def __init__(self, path: Path | None = None) -> None:
        target = str(path) if path is not None else ":memory:"
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(body, tokenize='unicode61')")
        self._conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER)")
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        self.generation = int(row[0]) if row else 0
        self._lock = threading.RLock()
        self._pending = False

    def ids(self) -> set[int]:
        with self._lock:
            return {r[0] for r in self._conn.execute("SELECT rowid FROM fts")}

    def add(self, seqs: Sequence[int], texts: Sequence[str]) -> None:
        self.add_tokens(seqs, [tokenize(t) for t in texts])

    def add_tokens(self, seqs: Sequence[int], tokens: Sequence[list[str]]) -> None:
        with self._lock:
            if not self._pending:
                self._conn.execute("BEGIN")
                self._pending = True
            self._conn.executemany(
                "INSERT OR REPLACE INTO fts (rowid, body) VALUES (?, ?)",
                [(int(s), " ".join(t)) for s, t in zip(seqs, tokens, strict=False)],
            )

    def delete(self, seqs: Sequence[int]) -> None:
        with self._lock:
            if not self._pending:
                self._conn.execute("BEGIN")
                self._pending = True
            self._conn.executemany("DELETE FROM fts WHERE rowid = ?", [(int(s),) for s in seqs])

    def save(self, generation: int) -> None:
        with self._lock:
            if not self._pending:
                self._conn.execute("BEGIN")
            self._conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('generation', ?)", (generation,)
            )
            self._conn.execute("COMMIT")
            self._pending = False
            self.generation = generation

    def search(self, query: str, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        terms = sorted(set(tokenize(query)))
        if not terms:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)
        # bm25() is lower-is-better; when filtering, over-fetch then filter in Python.
        limit = k if allowed is None else max(k * 50, 1000)
        with self._lock:
            rows = self._conn.execute(
                "SELECT rowid, -bm25(fts) AS score FROM fts WHERE fts MATCH ? ORDER BY bm25(fts) LIMIT ?",
                (match, limit),
            ).fetchall()
        hits = [(int(r), float(s)) for r, s in rows if allowed is None or r in allowed]
        return hits[:k]


def make_lexical_index(backend: str, path: Path | None) -> LexicalIndex:
    if backend == "bm25s":
        return Bm25sIndex(path.with_suffix(".bm25s.pkl") if path else None)
    if backend == "rank_bm25":
        return RankBm25Index(path.with_suffix(".rank_bm25.pkl") if path else None)
    if backend == "fts5":
        return Fts5Index(path.with_suffix(".fts5.sqlite") if path else None)
    raise ValueError(f"unknown BM25 backend {backend!r}")
