"""nomic-embed-text-v1.5 through llama.cpp (GGUF assembled by .ci/setup.d/26-nomic.sh; rag/retrieval/nomic_model.py).

The model was trained with task prefixes: ``search_query: `` before a question, ``search_document: `` before a
passage; without them its cosines are much less useful, so the prefixes are applied here and nowhere else.
Matryoshka: the first d of the 768 dimensions, after a layer norm, are a d-dimensional embedding (the model
card's recipe: layer norm, truncate, L2-normalise), so a smaller index needs no other model."""

from __future__ import annotations

import atexit
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.retrieval.embedder import ModelLock
from rag.retrieval.errors import RetrievalConfigError
from rag.retrieval.query_cache import QueryCache

NOMIC_NAME = "nomic-embed-text-v1.5"  # the setting's value (Q8_0 weights)
NOMIC_F16 = NOMIC_NAME + "-f16"  # the unquantised weights, for comparison
NOMIC_FULL_DIMENSION = 768
QUERY_PREFIX = "search_query: "
DOCUMENT_PREFIX = "search_document: "
# Chunks are at most 512 word pieces (rag/retrieval/chunker.py); the model takes 2,048, a header and prefix fit.
NOMIC_CONTEXT = 1024
DOCUMENTS_PER_CALL = 4


def is_nomic(name: str) -> bool:
    return name in (NOMIC_NAME, NOMIC_F16)


def nomic_model_file(name: str, models_dir: Path) -> Path:
    from rag.retrieval.nomic_model import NOMIC_F16_NAME, NOMIC_Q8_NAME

    path = models_dir / (NOMIC_F16_NAME if name == NOMIC_F16 else NOMIC_Q8_NAME)
    if not path.is_file():
        raise RetrievalConfigError(f"{name} is not assembled under {models_dir}: run .ci/setup.d/26-nomic.sh")
    return path


def matryoshka(vectors: np.ndarray, dimension: int) -> np.ndarray:
    """Rows of pooled embeddings → L2-normalised ``dimension``-d rows (layer norm first when truncating)."""
    v = np.asarray(vectors, dtype=np.float32)
    if dimension < v.shape[1]:
        v = (v - v.mean(axis=1, keepdims=True)) / np.sqrt(v.var(axis=1, keepdims=True) + 1e-5)
        v = v[:, :dimension]
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return (v / np.where(norms > 0, norms, 1.0)).astype(np.float32)


class LlamaEmbedder:
    def __init__(
        self,
        name: str,
        *,
        models_dir: Path,
        dimension: int | None = None,
        threads: int | None = None,
    ) -> None:
        import llama_cpp

        if not is_nomic(name):
            raise RetrievalConfigError(f"no llama.cpp embedding model named {name!r}")
        dimension = dimension or NOMIC_FULL_DIMENSION
        if not 64 <= dimension <= NOMIC_FULL_DIMENSION:
            raise RetrievalConfigError(
                f"{name}: dimension must lie in [64, {NOMIC_FULL_DIMENSION}], got {dimension}"
            )
        path = nomic_model_file(name, models_dir)
        try:
            self._model = llama_cpp.Llama(
                str(path),
                embedding=True,
                n_ctx=NOMIC_CONTEXT,
                n_batch=NOMIC_CONTEXT,
                n_ubatch=NOMIC_CONTEXT,  # a non-causal model must see a whole input in one micro-batch
                # Both counts: embedding runs on the *batch* threads, which llama-cpp-python otherwise sets to every
                # core; their OpenMP spin-waits cost ~1 s CPU per call (7-token query: 1,078 ms CPU with 2 batch
                # threads, 49 ms with 1, busy 2-core machine).
                n_threads=threads or os.cpu_count() or 1,
                n_threads_batch=threads or os.cpu_count() or 1,
                verbose=False,
            )
        except (ValueError, RuntimeError) as err:
            raise RetrievalConfigError(f"cannot load {name} ({path}): {err}") from err
        # Freed before the interpreter tears down llama_cpp's module globals: left to __del__ at exit, the free
        # call finds them gone and prints "Exception ignored ... TypeError" after every CLI run.
        atexit.register(self._model.close)
        # The index records the variant: vectors of another quantisation or size must not mix with these.
        self.name = name if dimension == NOMIC_FULL_DIMENSION else f"{name}-d{dimension}"
        self.dimension = dimension
        self.max_length = NOMIC_CONTEXT
        self._lock = ModelLock()
        self._query_cache = QueryCache()

    def _ids(self, text: str) -> list[int]:
        return self._model.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(self._ids(t)) for t in texts]

    def truncate(self, text: str, max_tokens: int) -> str:
        ids = self._ids(text)
        if len(ids) <= max_tokens:
            return text
        return self._model.detokenize(ids[:max_tokens]).decode("utf-8", errors="ignore").strip()

    def _embed_one(self, text: str) -> np.ndarray:
        return np.asarray(self._model.embed(text, normalize=False, truncate=True), dtype=np.float32)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """A few documents per llama.cpp call (it packs them into one batch: 4 × 271 tokens took 0.8-0.9x the
        time of four calls, measured on the busy 2-core machine); a waiting query goes between two groups."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), DOCUMENTS_PER_CALL):
            group = [DOCUMENT_PREFIX + t for t in texts[start : start + DOCUMENTS_PER_CALL]]
            with self._lock.batch():
                raw = np.asarray(self._model.embed(group, normalize=False, truncate=True), dtype=np.float32)
            out[start : start + len(group)] = matryoshka(raw, self.dimension)
        return out

    def encode_query(self, text: str) -> np.ndarray:
        with self._lock.query():
            return self._query_cache.get_or_embed(text, self._embed_query)

    def _embed_query(self, text: str) -> np.ndarray:
        raw = self._embed_one(QUERY_PREFIX + text)
        return matryoshka(raw[None, :], self.dimension)[0]
