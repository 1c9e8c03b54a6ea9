"""The embedded default end to end with the structured strategy: Cadenza starts the llama.cpp server with the
configured GGUF (Qwen2.5-Coder-1.5B by default, .ci/setup.d/21-llm-1.5b.sh), sends the JSON schema as a
grammar through litellm, streams the rendered parts and attaches the citations. Real retrieval, real model."""

from __future__ import annotations

import json

import pytest

from api.settings import Settings
from rag.generation.feedback import FeedbackService
from rag.generation.local_llm import verified_gguf
from tests._feedback_support import feedback_config, make_report

pytestmark = [pytest.mark.llm, pytest.mark.slow]


def test_default_is_the_1_5b_model_with_the_structured_strategy():
    config = Settings().generation_config()
    assert config.structured and verified_gguf(config).name == "qwen2.5-coder-1.5b-instruct.gguf"


@pytest.mark.parametrize("streamed", [True, False])
def test_local_model_answers_the_schema_and_gets_cited(retriever, streamed):
    config = feedback_config(retriever, llm_timeout_s=900, llm_temperature=0.0)
    service = FeedbackService(config, retriever)
    report = make_report({"pedal_clarity": 0.28, "dynamic_range": 0.36})
    if streamed:
        events = list(service.stream(report, piece="Nocturne in E-flat", composer="Chopin"))
        result = events[-1].result
        deltas = [e.text for e in events if e.type == "delta"]
    else:
        result = service.generate(report, piece="Nocturne in E-flat", composer="Chopin")
        deltas = []
    assert result is not None and result.generator == "llm", result and result.llm_error
    assert result.model == "openai/qwen2.5-coder-1.5b-instruct"  # names the model loaded
    answer = json.loads(result.trace.raw_text or "")
    assert set(answer) == {"strength", "problems"} and len(answer["problems"]) == 2
    paragraphs = result.text.split("\n\n")
    assert paragraphs[1].startswith("Clean pedalling at 0:10–0:18 (bars 5–7)")
    assert [c.n for c in result.citations] == [1, 2] and not result.invalid_markers
    if streamed:
        assert len(deltas) == 3 and "".join(deltas).strip() == result.text


def test_warm_up_starts_the_server_so_the_first_answer_need_not(retriever):
    """What `cadenza feedback` does while it scores: the embedded server starts and evaluates the prompt's fixed
    part in the background (its effect on the first answer's time: eval/results/feedback_model.md)."""
    from rag.generation.local_llm import LocalLLMServer
    from rag.job import FeedbackJob

    config = feedback_config(retriever, llm_timeout_s=900, llm_temperature=0.0)
    LocalLLMServer.stop_shared()  # cold, as a fresh process is
    job = FeedbackJob(config, lambda: retriever)
    thread = job.warm_up()
    assert thread is not None
    thread.join(timeout=900)
    server = LocalLLMServer._instance
    assert not thread.is_alive() and server is not None and server.alive()
    result = job.generate(make_report({"timbre_depth": 0.3}))
    assert result.generator == "llm" and LocalLLMServer._instance is server  # the warmed server answered
