"""Most-recently-used query vectors of one embedder: a repeated query (the feedback's topic queries, a
student asking again) costs a dictionary lookup instead of a model call."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import numpy as np

QUERY_CACHE_SIZE = 4096


class QueryCache:
    """LRU of query text -> vector; callers hold the embedder's query lock around ``get_or_embed``."""

    def __init__(self, size: int = QUERY_CACHE_SIZE) -> None:
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = size

    def get_or_embed(self, text: str, embed: Callable[[str], np.ndarray]) -> np.ndarray:
        """The cached vector of ``text`` or ``embed(text)`` (then cached); a copy, so callers may modify it."""
        cached = self._vectors.get(text)
        if cached is not None:
            self._vectors.move_to_end(text)
            return cached.copy()
        vector = embed(text)
        self._vectors[text] = vector
        if len(self._vectors) > self._size:
            self._vectors.popitem(last=False)
        return vector.copy()
