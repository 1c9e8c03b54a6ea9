"""The embedded default end to end: Cadenza starts the local llama.cpp server (Qwen2.5-Coder-0.5B GGUF,
assembled by .ci/setup.d/20-llm.sh) on demand and reaches it through litellm `openai/<alias>`;
the real model writes feedback that cites the real retrieved passages."""

from __future__ import annotations

import pytest

from api.settings import Settings
from rag.generation.errors import GenerationConfigError
from rag.generation.feedback import FeedbackService
from rag.generation.llm import LLMClient
from rag.generation.local_llm import LocalLLMServer, gguf_path, verified_gguf
from tests._feedback_support import feedback_config, make_report

pytestmark = pytest.mark.llm


def test_gguf_is_the_recorded_one():
    path = verified_gguf(Settings().generation_config())
    assert path == gguf_path(Settings().generation_config()) and path.stat().st_size > 400_000_000


def test_missing_model_is_a_config_error(tmp_path):
    with pytest.raises(GenerationConfigError, match="21-llm-1.5b.sh"):
        verified_gguf(Settings(models_dir=tmp_path).generation_config())
    with pytest.raises(GenerationConfigError, match="20-llm.sh"):
        verified_gguf(
            Settings(models_dir=tmp_path, local_llm_model="qwen2.5-coder-0.5b-instruct").generation_config()
        )


def test_server_starts_once_and_streams(retriever):
    config = feedback_config(
        retriever,
        llm_timeout_s=300,
        llm_max_tokens=24,
        llm_temperature=0.0,
        local_llm_model="qwen2.5-coder-0.5b-instruct",
    )
    client = LLMClient(config)
    deltas = list(
        client.stream(
            [{"role": "user", "content": "Repeat this word exactly and write nothing else: Cadenza"}]
        )
    )
    assert len(deltas) >= 1 and "cadenza" in "".join(deltas).lower()
    server = LocalLLMServer.shared(config)
    assert LocalLLMServer.shared(config) is server and server.alive()  # started once, reused


@pytest.mark.parametrize("strategy", ["single", "per_dimension"])
def test_local_model_writes_cited_feedback(retriever, strategy):
    # Greedy decoding: the same prompt gives the same answer on every run, so this test is not a dice roll.
    # The support policy is off here: this is about the model answering with citations, not their quality.
    config = feedback_config(
        retriever,
        llm_timeout_s=300,
        llm_temperature=0.0,
        feedback_strategy=strategy,
        feedback_require_support=False,
        local_llm_model="qwen2.5-coder-0.5b-instruct",  # the free-text strategies of the 0.5B model
    )
    result = FeedbackService(config, retriever).generate(
        make_report({"pedal_clarity": 0.28, "dynamic_range": 0.36}),
        piece="Nocturne in E-flat",
        composer="Chopin",
    )
    assert result.generator == "llm", result.llm_error
    assert result.model == "openai/qwen2.5-coder-0.5b-instruct" and result.trace.raw_text
    assert result.citations and all(1 <= c.n <= len(result.citations) for c in result.citations)
    assert result.grounding_rate is not None
    if strategy == "per_dimension":  # Cadenza's what-and-where, then the model's words, per weak dimension
        heads = [
            line
            for line in result.text.splitlines()
            if line.startswith(("Clean pedalling is", "Dynamic range is"))
        ]
        assert len(heads) == 2 and any(": " in head and head.split(": ", 1)[1].strip() for head in heads)
