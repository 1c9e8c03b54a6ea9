"""What generation reads: one frozen value built by the API layer (``Settings.generation_config()``) and
passed down by argument, so nothing in rag.generation reads the environment or knows the API.

The defaults are the embedded profile (the local llama.cpp server, CPU); the "auto" choices that depend on
the deployment are resolved here, next to the reason for them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rag.retrieval.config import DEFAULT_MODELS_DIR

# The grounding support threshold, calibrated on eval/grounding_pairs.jsonl (split "calibration") with
# `rag-eval grounding` (rag/generation/grounding.py); here so that reading the config loads no numpy.
GROUNDING_THRESHOLD = 0.5576


@dataclass(frozen=True)
class GenerationConfig:
    """Every setting generation reads; locations are already resolved (absolute)."""

    home: Path  # data home: the local LLM server's log goes under home/logs
    # the LLM, through litellm
    llm_model: str = "openai/qwen2.5-0.5b-instruct"
    llm_api_base: str | None = None  # None = start the local llama.cpp server
    llm_api_key: str = "not-needed"
    llm_timeout_s: float = 60.0
    llm_retries: int = 1
    llm_temperature: float = 0.2
    llm_max_tokens: int = 300
    # the embedded local server
    local_llm_gguf: Path | None = None  # None = the GGUF assembled by setup into models_dir
    models_dir: Path = DEFAULT_MODELS_DIR
    local_llm_ctx: int = 4096
    local_llm_threads: int | None = None
    local_llm_start_timeout_s: float = 120.0
    local_llm_warm_up: bool = True  # FeedbackJob.run warms the embedded server while it scores
    # the embedded model's name: picks its GGUF in models_dir and is the model string responses report
    local_llm_model: str = "qwen2.5-coder-1.5b-instruct"
    # how a JSON schema reaches the server: llama-cpp-python's server reads {"type": "json_object", "schema": …};
    # vLLM and OpenAI read {"type": "json_schema", "json_schema": {…}}
    llm_response_format: Literal["auto", "json_object", "json_schema"] = "auto"
    # feedback
    feedback_strategy: Literal["auto", "structured", "single", "per_dimension"] = "auto"
    feedback_require_support: bool | None = None  # None = auto
    feedback_history_turns: int = 6
    grounding_threshold: float | None = None  # cosine check: None = the calibrated value
    # strict: readable, lexically anchored and close in meaning (rag.generation.grounding.StrictCheck, 0.785
    # accuracy / kappa 0.566 on 107 blind hand labels vs the cosine's 0.738 / 0.464: eval/results/grounding.md)
    grounding_check: Literal["strict", "cosine"] = "strict"
    # retrieval as feedback uses it
    retrieval_mode: Literal["hybrid", "rerank"] = "hybrid"  # rerank when a cross-encoder is configured
    top_k: int = 5
    rescore_model_candidates: int = 5  # how many of the blend's top candidates the second model re-orders

    @property
    def embedded(self) -> bool:
        """The local llama.cpp server answers (no ``llm_api_base``)."""
        return self.llm_api_base is None

    @property
    def strategy(self) -> Literal["structured", "single", "per_dimension"]:
        """How feedback asks the LLM. auto = structured for the embedded server (a JSON schema that Cadenza
        renders and cites: eval/results/feedback_model.md); single for a configured server until its stand-in
        in the tests speaks JSON (set ``structured`` to run the embedded prompt there)."""
        if self.feedback_strategy != "auto":
            return self.feedback_strategy
        return "structured" if self.embedded else "single"

    @property
    def per_dimension(self) -> bool:
        """One short call per weak dimension with only its source (the 0.5B model's free-text strategy)."""
        return self.strategy == "per_dimension"

    @property
    def structured(self) -> bool:
        return self.strategy == "structured"

    @property
    def response_format_style(self) -> Literal["json_object", "json_schema"]:
        """json_object+schema for llama-cpp-python's server (the embedded one), else OpenAI's json_schema."""
        if self.llm_response_format != "auto":
            return self.llm_response_format
        return "json_object" if self.embedded else "json_schema"

    @property
    def require_support(self) -> bool:
        """Fall back unless at least one citation is supported (stricter than the issue's "no valid citation");
        auto = on for the embedded local model's free-text strategies, whose citations were often not supported
        by their passage. Structured answers are cited by Cadenza with the passage retrieved for each problem;
        their grounding is reported, not used to discard them."""
        strict = self.feedback_require_support
        return strict if strict is not None else (self.embedded and not self.structured)

    @property
    def threshold(self) -> float:
        """The grounding support threshold."""
        return self.grounding_threshold if self.grounding_threshold is not None else GROUNDING_THRESHOLD

    @property
    def local_llm_log(self) -> Path:
        return self.home / "logs" / "llama-server.log"
