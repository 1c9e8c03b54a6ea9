"""Vector stores behind one interface: FAISS on disk (embedded default) and Qdrant (local path or
server URL; production). Ids are the catalogue's integer chunk keys; vectors are normalised, so the
inner product is the cosine. Every store records the model name and dimension it was built with."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rag.retrieval.errors import IndexMismatch, VectorStoreError

DIRECT_SCORE_MAX = 64  # allowed-id sets up to this size are scored by reading their vectors back


class VectorStore(Protocol):
    generation: int
    model_name: str
    dimension: int

    def ids(self) -> set[int]: ...
    def add(self, seqs: Sequence[int], vectors: np.ndarray) -> None: ...
    def delete(self, seqs: Sequence[int]) -> None: ...
    def search(
        self, vector: np.ndarray, k: int, allowed: set[int] | None = None
    ) -> list[tuple[int, float]]: ...
    def save(self, generation: int) -> None: ...
    def close(self) -> None: ...


def _check(where: str, built_model: str | None, built_dim: int | None, model: str, dimension: int) -> None:
    if built_model is not None and (
        built_model != model or (built_dim is not None and built_dim != dimension)
    ):
        raise IndexMismatch(
            f"the vector index at {where} was built with {built_model} ({built_dim}-d) but the settings ask for "
            f"{model} ({dimension}-d); rebuild it with `cadenza index --rebuild` or point CADENZA_HOME elsewhere"
        )


class FaissStore:
    """Exact inner-product search (``IndexFlatIP``) under an id map; at corpus size (~10k chunks) a
    flat scan takes well under a millisecond. ``ivf_lists`` > 0 builds an IVF index (the 1M benchmark)."""

    def __init__(
        self, directory: Path | None, *, model_name: str, dimension: int, ivf_lists: int = 0, nprobe: int = 16
    ) -> None:
        import faiss

        self._faiss: Any = faiss
        # faiss's stubs type every index as the base Index; the IDMap2/IVF wrappers' attributes are untyped there.
        self._index: Any
        self.directory = directory
        self.model_name, self.dimension = model_name, dimension
        self.generation = 0
        self._lock = threading.RLock()
        index_path, meta_path = self._paths()
        if index_path is not None and index_path.is_file() and meta_path is not None and meta_path.is_file():
            meta = json.loads(meta_path.read_text())
            _check(str(directory), meta.get("model_name"), meta.get("dimension"), model_name, dimension)
            self._index = faiss.read_index(str(index_path))
            if self._index.d != dimension:
                _check(str(directory), meta.get("model_name"), self._index.d, model_name, dimension)
            self.generation = int(meta.get("generation", 0))
        elif ivf_lists > 0:
            quantizer = faiss.IndexFlatIP(dimension)
            ivf = faiss.IndexIVFFlat(quantizer, dimension, ivf_lists, faiss.METRIC_INNER_PRODUCT)
            ivf.nprobe = nprobe
            self._index = faiss.IndexIDMap2(ivf)
        else:
            self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        self._ids: set[int] = (
            set(int(i) for i in faiss.vector_to_array(self._index.id_map)) if self._index.ntotal else set()
        )

    def _paths(self) -> tuple[Path | None, Path | None]:
        if self.directory is None:
            return None, None
        return self.directory / "vectors.faiss", self.directory / "vectors.json"

    def train(self, sample: np.ndarray) -> None:
        """IVF only: learn the coarse centroids from a sample."""
        inner = self._faiss.downcast_index(self._index.index)
        if not inner.is_trained:
            inner.train(np.ascontiguousarray(sample, dtype=np.float32))

    def ids(self) -> set[int]:
        with self._lock:
            return set(self._ids)

    def add(self, seqs: Sequence[int], vectors: np.ndarray) -> None:
        if len(seqs) == 0:
            return
        if vectors.shape[1] != self.dimension:
            raise IndexMismatch(f"vectors have {vectors.shape[1]} dimensions, the index {self.dimension}")
        with self._lock:
            fresh = [i for i, s in enumerate(seqs) if int(s) not in self._ids]  # idempotent catch-up
            if not fresh:
                return
            ids = np.asarray([int(seqs[i]) for i in fresh], dtype=np.int64)
            self._index.add_with_ids(np.ascontiguousarray(vectors[fresh], dtype=np.float32), ids)
            self._ids.update(int(i) for i in ids)

    def delete(self, seqs: Sequence[int]) -> None:
        if len(seqs) == 0:
            return
        with self._lock:
            self._index.remove_ids(np.asarray([int(s) for s in seqs], dtype=np.int64))
            self._ids.difference_update(int(s) for s in seqs)

    def search(self, vector: np.ndarray, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        query = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
        with self._lock:
            if self._index.ntotal == 0:
                return []
            params = None
            if allowed is not None:
                if not allowed:
                    return []
                if len(allowed) <= DIRECT_SCORE_MAX and self._direct:
                    return self._score_directly(query[0], allowed, k)
                selector = self._faiss.IDSelectorBatch(np.asarray(sorted(allowed), dtype=np.int64))
                params = self._faiss.SearchParameters(sel=selector)
            # One query: OpenMP threads only add spin-wait overhead (43 ms vs <1 ms measured on a
            # busy 2-core machine for 137 vectors), so search on the calling thread.
            previous = self._faiss.omp_get_max_threads()
            self._faiss.omp_set_num_threads(1)
            try:
                scores, ids = self._index.search(query, min(k, self._index.ntotal), params=params)
            finally:
                self._faiss.omp_set_num_threads(previous)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=False) if i != -1]

    @property
    def _direct(self) -> bool:
        """Whether stored vectors can be read back by id (IndexIDMap2 over a flat index: exact)."""
        return isinstance(self._index, self._faiss.IndexIDMap2) and isinstance(
            self._faiss.downcast_index(self._index.index), self._faiss.IndexFlat
        )

    def _score_directly(self, query: np.ndarray, allowed: set[int], k: int) -> list[tuple[int, float]]:
        """Inner products with a few stored vectors read back by id: the second stage asks for the cosine of
        a handful of candidates, and a selector-filtered search still scans every vector (~0.85 ms at corpus
        size, 26 times per feedback request)."""
        ids = sorted(i for i in allowed if i in self._ids)
        if not ids:
            return []
        vectors = np.stack([self._index.reconstruct(i) for i in ids])
        scores = vectors @ query
        order = np.argsort(-scores, kind="stable")[:k]
        return [(ids[i], float(scores[i])) for i in order]

    def save(self, generation: int) -> None:
        with self._lock:
            self.generation = generation
            index_path, meta_path = self._paths()
            if index_path is None or meta_path is None:
                return
            index_path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename: a kill leaves the old or the new file, never half of one. The
            # catch-up compares ids, so a stale generation in the metadata is harmless.
            tmp = index_path.with_suffix(".faiss.tmp")
            self._faiss.write_index(self._index, str(tmp))
            os.replace(tmp, index_path)
            meta = {
                "generation": generation,
                "model_name": self.model_name,
                "dimension": self.dimension,
                "faiss_version": self._faiss.__version__,
                "ntotal": int(self._index.ntotal),
            }
            meta_tmp = meta_path.with_suffix(".json.tmp")
            meta_tmp.write_text(json.dumps(meta, indent=1))
            os.replace(meta_tmp, meta_path)

    def close(self) -> None:
        pass


class QdrantStore:
    """Qdrant through qdrant-client: ``url`` for a server (production), else a local path."""

    def __init__(
        self, *, path: Path | None, url: str | None, collection: str, model_name: str, dimension: int
    ) -> None:
        from qdrant_client import QdrantClient, models

        self._models = models
        self.model_name, self.dimension = model_name, dimension
        self.collection = collection
        self._lock = threading.RLock()
        try:
            if url:
                self._client = QdrantClient(url=url, timeout=30)
            else:
                assert path is not None
                path.mkdir(parents=True, exist_ok=True)
                self._client = QdrantClient(path=str(path))
            exists = self._client.collection_exists(collection)
            if exists:
                info = self._client.get_collection(collection)
                size = info.config.params.vectors.size  # type: ignore[union-attr]
                meta = (info.config.metadata or {}) if hasattr(info.config, "metadata") else {}
                _check(url or str(path), meta.get("model_name", model_name), size, model_name, dimension)
            else:
                self._client.create_collection(
                    collection,
                    vectors_config=models.VectorParams(size=dimension, distance=models.Distance.COSINE),
                    metadata={"model_name": model_name, "dimension": dimension},
                )
        except IndexMismatch:
            raise
        except Exception as err:  # qdrant-client raises many transport-specific types
            raise VectorStoreError(f"Qdrant at {url or path}: {err}") from err
        self.generation = self._read_generation()

    def _read_generation(self) -> int:
        points = self._client.retrieve(self.collection, ids=[0], with_payload=True)
        return int(points[0].payload.get("generation", 0)) if points else 0  # type: ignore[union-attr]

    def ids(self) -> set[int]:
        found: set[int] = set()
        offset = None
        with self._lock:
            while True:
                points, offset = self._client.scroll(
                    self.collection, limit=10_000, offset=offset, with_payload=False, with_vectors=False
                )
                found.update(int(p.id) for p in points)
                if offset is None:
                    break
        found.discard(0)  # point 0 holds the store's own state
        return found

    def add(self, seqs: Sequence[int], vectors: np.ndarray) -> None:
        if len(seqs) == 0:
            return
        with self._lock:
            for offset in range(0, len(seqs), 256):
                self._client.upsert(
                    self.collection,
                    points=self._models.Batch(
                        ids=[int(s) for s in seqs[offset : offset + 256]],
                        vectors=np.asarray(vectors[offset : offset + 256], dtype=np.float32).tolist(),
                    ),
                )

    def delete(self, seqs: Sequence[int]) -> None:
        if len(seqs) == 0:
            return
        with self._lock:
            self._client.delete(
                self.collection, points_selector=self._models.PointIdsList(points=[int(s) for s in seqs])
            )

    def search(self, vector: np.ndarray, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        query_filter = None
        if allowed is not None:
            if not allowed:
                return []
            query_filter = self._models.Filter(must=[self._models.HasIdCondition(has_id=sorted(allowed))])
        else:
            query_filter = self._models.Filter(must_not=[self._models.HasIdCondition(has_id=[0])])
        with self._lock:
            result = self._client.query_points(
                self.collection, query=vector.astype(np.float32).tolist(), limit=k, query_filter=query_filter
            )
        return [(int(p.id), float(p.score)) for p in result.points]

    def save(self, generation: int) -> None:
        # The state point has a zero vector's neighbour: a unit vector along axis 0, excluded from search.
        state = np.zeros(self.dimension, dtype=np.float32)
        state[0] = 1.0
        with self._lock:
            self._client.upsert(
                self.collection,
                points=[
                    self._models.PointStruct(
                        id=0,
                        vector=state.tolist(),
                        payload={"generation": generation, "model_name": self.model_name},
                    )
                ],
            )
            self.generation = generation

    def close(self) -> None:
        with self._lock:
            self._client.close()
