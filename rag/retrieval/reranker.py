"""Cross-encoder second stage behind one interface: sentence-transformers ``CrossEncoder`` (also
loads bge-reranker-base) by name or path. Pairs are cut to ``max_length`` word pieces (a lever for
speed) and scores are cached by (query, passage) so a repeated question costs nothing."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence

from rag.retrieval.errors import RetrievalConfigError


class CrossEncoderReranker:
    def __init__(
        self, name: str, *, max_length: int = 256, batch_size: int = 32, cache_size: int = 20_000
    ) -> None:
        from sentence_transformers import CrossEncoder

        from rag.retrieval.embedder import resolve_model_path

        try:
            self._model = CrossEncoder(resolve_model_path(name), max_length=max_length, device="cpu")
        except (OSError, ValueError) as err:
            raise RetrievalConfigError(f"cannot load reranker {name!r}: {err}") from err
        self.name = name
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, float] = OrderedDict()
        self._cache_size = cache_size

    @staticmethod
    def _key(query: str, passage: str) -> str:
        return hashlib.sha1(f"{query}\x00{passage}".encode()).hexdigest()

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        keys = [self._key(query, p) for p in passages]
        with self._lock:
            missing = [i for i, key in enumerate(keys) if key not in self._cache]
            if missing:
                fresh = self._model.predict(
                    [(query, passages[i]) for i in missing],
                    batch_size=self._batch_size,
                    show_progress_bar=False,
                )
                for i, value in zip(missing, fresh, strict=False):
                    self._cache[keys[i]] = float(value)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
            return [self._cache[key] for key in keys]


_RERANKERS: dict[tuple[str, int], CrossEncoderReranker] = {}
_LOCK = threading.Lock()


def load_reranker(name: str, *, max_length: int) -> CrossEncoderReranker:
    with _LOCK:
        key = (name, max_length)
        if key not in _RERANKERS:
            _RERANKERS[key] = CrossEncoderReranker(name, max_length=max_length)
        return _RERANKERS[key]
