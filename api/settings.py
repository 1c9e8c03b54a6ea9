"""The one typed settings object. Every component receives it; nothing else reads the environment.

Environment variables use the prefix ``CADENZA_`` (``CADENZA_HOME``, ``CADENZA_LLM_MODEL`` …).
The defaults are the *embedded* profile: offline, CPU, one process, files under ``home``.
Production sets other values (see README "Production" and docker/.env.example).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from corpus.vectors import MINILM_CORPUS_VECTORS
from rag.generation.config import GenerationConfig
from rag.retrieval.config import DEFAULT_MODELS_DIR, MINILM_PACKAGE, MPNET_NAME, RetrievalConfig
from scorer.config import NoteConfig, ScorerConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
# Third-party data (corpus, PercePiano, eval sets) is read in place, never copied into the repo.
DEFAULT_SHARED = REPO_ROOT.parent / "shared"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CADENZA_", extra="ignore")

    # --- where things live -------------------------------------------------------------------
    home: Path = Field(Path(".cadenza"), description="Data home: database, indexes, caches, uploads.")
    shared_dir: Path = Field(
        DEFAULT_SHARED, description="Read-only third-party data (corpus, PercePiano, eval)."
    )
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite file under home.")

    # --- corpus and chunking -----------------------------------------------------------------
    chunk_tokens: int | None = Field(
        None, description="Chunk size in word pieces; default: the embedder's max length."
    )
    chunk_overlap: float = Field(0.15, ge=0.0, lt=0.5)

    # --- retrieval ---------------------------------------------------------------------------
    embedding_model: str = Field(MINILM_PACKAGE, description="Package name, hub name or local path.")
    embedding_query_instruction: str = Field(
        "",
        description="Prefix for queries (BGE: 'Represent this sentence for searching relevant passages: ').",
    )
    embedding_batch_size: int = 32
    embedding_dimension: int | None = Field(
        None, ge=64, le=768, description="Matryoshka size for nomic-embed-text-v1.5; None = its full 768."
    )
    embedding_threads: int | None = Field(
        None, ge=1, description="llama.cpp threads for nomic-embed-text-v1.5; None = all cores."
    )
    vector_file: Path | None = Field(
        MINILM_CORPUS_VECTORS,
        description="Precomputed chunk vectors (python -m rag.retrieval.vector_file build) read before embedding; "
        "the default holds MiniLM's vectors of the shared corpus (corpus/vectors/).",
    )
    reranker_model: str | None = Field(
        None, description="Cross-encoder name or path; None = no second stage."
    )
    vector_backend: Literal["faiss", "qdrant"] = "faiss"
    qdrant_url: str | None = None
    bm25_backend: Literal["bm25s", "rank_bm25", "fts5"] = "bm25s"
    rrf_k: int = Field(60, ge=1)
    candidates_per_retriever: int = Field(20, ge=1)
    rerank_candidates: int = Field(20, ge=1)
    top_k: int = Field(5, ge=1)
    embedding_cache_dir: Path | None = Field(
        None, description="Embedding cache (model, text sha); default: home/embedding-cache."
    )
    context_header: bool = Field(
        True, description="Prefix 'Author, Title — Section' to chunks when embedding."
    )
    header_max_tokens: int = Field(40, ge=0, description="Word pieces reserved for the context header.")
    rrf_weight_bm25: float = Field(1.0, ge=0)
    rrf_weight_dense: float = Field(1.0, ge=0)
    rescore: bool = Field(
        True,
        description="Hybrid second stage: re-order the fused candidates by a blend of BM25 and cosine scores.",
    )
    rescore_weight_bm25: float = Field(0.3, ge=0, le=1, description="BM25's share in the rescoring blend.")
    rescore_weight_sentence: float = Field(
        0.2,
        ge=0,
        le=1,
        description="Share of the best sentence's cosine (0: sentences are not embedded); the chunk cosine gets the rest.",
    )
    sentence_model: str | None = Field(
        None, description="Model of the sentence vectors (rescoring, quotes); None = the embedding model."
    )
    rescore_model: str | None = Field(
        MPNET_NAME,
        description="Second embedding model for the top of the blend (all-mpnet-base-v2: assembled by .ci/setup.d/25-mpnet.sh into models_dir; or a name/path); None = off.",
    )
    rescore_model_weight: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of the second model's query-chunk cosine in the final order of the top candidates.",
    )
    rescore_model_candidates: int = Field(
        5, ge=1, description="How many of the blend's top candidates the second model re-orders."
    )
    rescore_model_at_index: bool = Field(
        False,
        description="Embed every chunk with the second model at index time (production, with a GPU); off = the first query that ranks a "
        "chunk into the top embeds it (CPU: ~0.8 s per chunk, ~2 CPU-hours for the corpus at index time). Cached either way.",
    )
    search_second_model: bool = Field(
        False,
        description="Whether plain searches (`/v1/search`, `cadenza search`) run the second model on the head by default "
        "(per request: `second_model=true` / `--second-model`). Off: its query encoding (~120 ms of CPU for all-mpnet-base-v2) "
        "caps search at ~15 req/s on 2 cores; the tutor, feedback's whole-piece query and rag-eval always run it.",
    )
    reranker_max_length: int = Field(256, ge=32, description="Word pieces per (query, passage) pair.")
    qdrant_path: Path | None = Field(
        None, description="Qdrant local-mode folder; default: home/qdrant (when no URL)."
    )
    qdrant_collection: str = "cadenza_chunks"

    # --- scorer ------------------------------------------------------------------------------
    scorer_backend: Literal["embedded", "muq"] = "embedded"
    scorer_weights: Path | None = Field(
        None, description="Head weights; default: the committed embedded model."
    )
    muq_model_path: Path | None = None
    max_duration_s: float = Field(1800.0, gt=0)
    soundfont: Path = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
    scorer_second_soundfont: Path = Field(
        Path("/usr/share/sounds/sf2/MuseScore_General_Full.sf2"),
        description="Training only: the audio head also learns from these renders.",
    )
    scorer_top_n: int = Field(5, ge=1, description="Weak spots / strengths reported per recording.")
    scorer_threads: int = Field(2, ge=1, description="Threads of the embedded backend's transcription model.")
    scorer_transcriber: Literal["auto", "basic-pitch", "transkun"] = Field(
        "basic-pitch",
        description="Audio -> notes for the note errors: basic-pitch (fast default; with its posteriors it "
        "invents fewer errors on clean renders), transkun (piano-specific accurate mode: note-error F1 0.93 "
        "vs 0.63, ~0.2-0.3 s per second of audio on 2 cores), or auto: transkun for takes up to "
        "scorer_accurate_max_s, basic-pitch for longer ones (eval/results/transcription.md).",
    )
    scorer_accurate_max_s: float = Field(
        ScorerConfig.accurate_max_s,
        gt=0,
        description="auto transcriber: the longest take (seconds) transcribed with transkun; transkun needs "
        "~0.2-0.3 s per second of audio on 2 cores.",
    )
    muq_device: str = Field("cpu", description="torch device for the MuQ backend ('cuda' in production).")
    # note-level assessment against a score (issue 17); defaults: scorer.config.NoteConfig
    note_rushed_ratio: float = Field(
        NoteConfig.rushed_ratio, gt=1.0, description="Bar tempo / own smoothed tempo at or above: rushed."
    )
    note_dragged_ratio: float = Field(
        NoteConfig.dragged_ratio, gt=0.0, lt=1.0, description="... at or below: dragged."
    )
    note_uneven_chord_ms: float = Field(
        NoteConfig.uneven_chord_ms,
        gt=0.0,
        description="Median chord onset spread (ms) above which a bar is uneven.",
    )
    note_jump_penalty: float = Field(
        NoteConfig.jump_penalty, gt=0.0, description="Pass segmentation: cost of a jump in the score."
    )

    # --- LLM ---------------------------------------------------------------------------------
    llm_model: str = Field("openai/qwen2.5-0.5b-instruct", description="litellm model string.")
    llm_api_base: str | None = Field(
        None, description="OpenAI-compatible base URL; None = start the local llama.cpp server."
    )
    llm_api_key: str = "not-needed"
    llm_timeout_s: float = Field(60.0, gt=0)
    llm_retries: int = Field(1, ge=0)
    llm_temperature: float = Field(0.2, ge=0)
    llm_max_tokens: int = Field(300, ge=1)
    local_llm_gguf: Path | None = Field(
        None, description="GGUF for the embedded LLM; default: assembled from pandas-sns parts."
    )
    models_dir: Path = Field(
        DEFAULT_MODELS_DIR, description="Model files assembled by .ci/setup.d (outside the repo)."
    )
    local_llm_ctx: int = Field(4096, ge=512, description="Context window of the local llama.cpp server.")
    local_llm_threads: int | None = Field(None, ge=1, description="llama.cpp threads; None = its default.")
    local_llm_start_timeout_s: float = Field(120.0, gt=0)
    local_llm_warm_up: bool = Field(
        True,
        description="The feedback job starts the embedded server and has it read the prompt's fixed part while "
        "it scores the recording; the REST service does that and opens the retriever in the background as it "
        "starts (off: the first answer pays both).",
    )
    local_llm_model: Literal["qwen2.5-coder-1.5b-instruct", "qwen2.5-coder-0.5b-instruct"] = Field(
        "qwen2.5-coder-1.5b-instruct",
        description="Embedded model (GGUF assembled by .ci/setup.d/21-llm-1.5b.sh or 20-llm.sh); responses name "
        "the model loaded (local_llm_gguf: its file name). llm_model names the model of llm_api_base.",
    )
    llm_response_format: Literal["auto", "json_object", "json_schema"] = Field(
        "auto",
        description="How the structured strategy sends its JSON schema: json_object+schema (llama-cpp-python's "
        "server) or OpenAI json_schema (vLLM, OpenAI); auto = json_object for the embedded server.",
    )
    feedback_strategy: Literal["auto", "structured", "single", "per_dimension"] = Field(
        "auto",
        description="structured: one LLM call answering a JSON schema that Cadenza renders with its own citations "
        "(auto); single: one free-text call; per_dimension: one short call per weak dimension with only its source.",
    )
    feedback_require_support: bool | None = Field(
        None,
        description="Fall back unless at least one citation is supported by its passage (not only valid); "
        "None = on for the embedded local model (llm_api_base None), off otherwise.",
    )
    feedback_history_turns: int = Field(6, ge=0, description="Chat turns kept in the prompt.")
    grounding_threshold: float | None = Field(
        None, description="Support score threshold of the cosine check; None = the calibrated value."
    )
    grounding_check: Literal["strict", "cosine"] = Field(
        "strict",
        description="Does a cited passage support its sentence? strict: readable, anchored in the passage's words "
        "and close in meaning (eval/results/grounding.md); cosine: the MiniLM cosine alone (topic overlap).",
    )

    # --- API ---------------------------------------------------------------------------------
    auth_enabled: bool = True
    upload_max_bytes: int = Field(400 * 1024 * 1024, gt=0)
    score_upload_max_bytes: int = Field(
        4 * 1024 * 1024, gt=0, description="Limit of a score (MIDI, MusicXML or .mxl) sent with a recording."
    )
    rate_limit_per_minute: int = Field(120, ge=1)
    max_generations: int = Field(
        4,
        ge=1,
        description="LLM generations (feedback, tutor turns) running at once in one process; beyond: 429.",
    )
    max_generations_per_key: int = Field(
        2, ge=1, description="LLM generations running at once for one key; beyond: 429."
    )
    api_host: str = Field(
        "127.0.0.1", description="Address `cadenza serve` binds; auth may be off only on loopback."
    )
    api_port: int = Field(8000, ge=1, le=65535)
    api_workers: int = Field(1, ge=1)
    jobs_in_process: bool = Field(
        True,
        description="Run the scoring job worker inside each API process (False: a separate `docker/worker.py` scores).",
    )
    document_max_bytes: int = Field(
        50 * 1024 * 1024, gt=0, description="Largest document upload (read into memory)."
    )
    job_max_attempts: int = Field(
        2, ge=1, description="Scoring attempts before a job that was interrupted fails."
    )
    job_stale_after_s: float = Field(
        120.0, gt=0, description="A running job with no heartbeat this long was interrupted."
    )

    @field_validator("home", "shared_dir", "models_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @model_validator(mode="after")
    def _rescore_weights(self) -> Settings:
        if self.rescore_weight_bm25 + self.rescore_weight_sentence > 1:
            raise ValueError(
                "rescore_weight_bm25 + rescore_weight_sentence must be at most 1 (the chunk cosine gets the rest)"
            )
        return self

    @property
    def resolved_embedding_cache_dir(self) -> Path:
        return (self.embedding_cache_dir or self.home / "embedding-cache").expanduser().resolve()

    # Derived locations (not settings of their own, so they cannot drift apart).
    @property
    def corpus_dir(self) -> Path:
        return self.shared_dir / "corpus" / "texts"

    @property
    def corpus_manifest(self) -> Path:
        return self.shared_dir / "corpus" / "MANIFEST.tsv"

    @property
    def percepiano_dir(self) -> Path:
        return self.shared_dir / "data" / "percepiano"

    @property
    def eval_dir(self) -> Path:
        return self.shared_dir / "eval"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'cadenza.db'}"

    def scorer_config(self) -> ScorerConfig:
        """What the scorer reads (scorer.config), with every location resolved."""
        return ScorerConfig(
            backend=self.scorer_backend,
            weights=self.scorer_weights,
            muq_model_path=self.muq_model_path,
            muq_device=self.muq_device,
            max_duration_s=self.max_duration_s,
            soundfont=self.soundfont,
            second_soundfont=self.scorer_second_soundfont,
            top_n=self.scorer_top_n,
            threads=self.scorer_threads,
            transcriber=self.scorer_transcriber,
            accurate_max_s=self.scorer_accurate_max_s,
            notes=NoteConfig(
                rushed_ratio=self.note_rushed_ratio,
                dragged_ratio=self.note_dragged_ratio,
                uneven_chord_ms=self.note_uneven_chord_ms,
                jump_penalty=self.note_jump_penalty,
            ),
            cache_dir=self.home / "cache" / "scorer",
            percepiano_dir=self.percepiano_dir,
        )

    def retrieval_config(self) -> RetrievalConfig:
        """What rag.retrieval reads, with every location resolved."""
        return RetrievalConfig(
            home=self.home,
            database_url=self.resolved_database_url,
            embedding_cache_dir=self.resolved_embedding_cache_dir,
            models_dir=self.models_dir,
            chunk_tokens=self.chunk_tokens,
            chunk_overlap=self.chunk_overlap,
            context_header=self.context_header,
            header_max_tokens=self.header_max_tokens,
            embedding_model=self.embedding_model,
            embedding_query_instruction=self.embedding_query_instruction,
            embedding_batch_size=self.embedding_batch_size,
            embedding_dimension=self.embedding_dimension,
            embedding_threads=self.embedding_threads,
            vector_file=self.vector_file,
            bm25_backend=self.bm25_backend,
            vector_backend=self.vector_backend,
            qdrant_url=self.qdrant_url,
            qdrant_path=None if self.qdrant_url else (self.qdrant_path or self.home / "qdrant"),
            qdrant_collection=self.qdrant_collection,
            rrf_k=self.rrf_k,
            rrf_weight_bm25=self.rrf_weight_bm25,
            rrf_weight_dense=self.rrf_weight_dense,
            candidates_per_retriever=self.candidates_per_retriever,
            top_k=self.top_k,
            rescore=self.rescore,
            rescore_weight_bm25=self.rescore_weight_bm25,
            rescore_weight_sentence=self.rescore_weight_sentence,
            sentence_model=self.sentence_model,
            rescore_model=self.rescore_model,
            rescore_model_weight=self.rescore_model_weight,
            rescore_model_candidates=self.rescore_model_candidates,
            rescore_model_at_index=self.rescore_model_at_index,
            search_second_model=self.search_second_model,
            reranker_model=self.reranker_model,
            reranker_max_length=self.reranker_max_length,
            rerank_candidates=self.rerank_candidates,
        )

    def generation_config(self) -> GenerationConfig:
        """What rag.generation reads (the LLM, the local server, the feedback policy, retrieval as feedback uses it)."""
        return GenerationConfig(
            home=self.home,
            llm_model=self.llm_model,
            llm_api_base=self.llm_api_base,
            llm_api_key=self.llm_api_key,
            llm_timeout_s=self.llm_timeout_s,
            llm_retries=self.llm_retries,
            llm_temperature=self.llm_temperature,
            llm_max_tokens=self.llm_max_tokens,
            local_llm_gguf=self.local_llm_gguf,
            models_dir=self.models_dir,
            local_llm_ctx=self.local_llm_ctx,
            local_llm_threads=self.local_llm_threads,
            local_llm_start_timeout_s=self.local_llm_start_timeout_s,
            local_llm_warm_up=self.local_llm_warm_up,
            local_llm_model=self.local_llm_model,
            llm_response_format=self.llm_response_format,
            feedback_strategy=self.feedback_strategy,
            feedback_require_support=self.feedback_require_support,
            feedback_history_turns=self.feedback_history_turns,
            grounding_threshold=self.grounding_threshold,
            grounding_check=self.grounding_check,
            retrieval_mode="rerank" if self.reranker_model else "hybrid",
            top_k=self.top_k,
            rescore_model_candidates=self.rescore_model_candidates,
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, built once per process (tests override with ``Settings(...)``)."""
    return Settings()
