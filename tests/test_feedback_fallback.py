"""FeedbackService around LLM faults (timeout, server error, broken stream, no / invalid citations),
injected by a stand-in OpenAI-compatible server on loopback; retrieval, citation check, grounding
(real MiniLM) and fallback are the real ones."""

from __future__ import annotations

import pytest

from api.settings import Settings
from rag.feedback import NO_CITATION, FeedbackService
from rag.feedback_types import ChatTurn
from rag.feedback_queries import condensed_question
from tests._feedback_support import make_report, open_small_retriever
from tests._llm_standin import StandIn


@pytest.fixture(scope="module")
def retriever(tmp_path_factory, shared_dir, embedding_cache_dir):
    r = open_small_retriever(tmp_path_factory.mktemp("feedback-home"), shared_dir, embedding_cache_dir)
    yield r
    r.close()


@pytest.fixture()
def standin():
    server = StandIn()
    yield server
    server.close()


@pytest.fixture()
def service(standin, retriever):
    settings = retriever.settings.model_copy(update={"llm_model": "openai/standin", "llm_api_base": standin.api_base,
                                                     "llm_timeout_s": 20.0})
    return FeedbackService(settings, retriever)


REPORT = make_report({"pedal_clarity": 0.30, "timing_stability": 0.36})


def test_llm_answer_is_checked_and_grounded(service, standin):
    result = service.generate(REPORT, piece="Nocturne", composer="Chopin")
    assert result.generator == "llm" and result.model == "openai/standin" and result.llm_error is None
    assert [c.n for c in result.citations] == [1, 2]
    assert all(c.title and c.char_end > c.char_start for c in result.citations)
    assert len({c.chunk_id for c in result.citations}) == 2
    assert all(c.supported is not None and c.support_score is not None for c in result.citations)
    assert result.grounding_rate is not None
    assert {"retrieval", "llm", "citation_check", "grounding", "total"} <= set(result.latency_ms)
    prompt = standin.requests[0]["messages"][1]["content"]
    assert "clean pedalling" in prompt and "0:10–0:18" in prompt and "<source>" in prompt


@pytest.mark.parametrize(("mode", "error_part", "calls"), [
    ("slow", "timed out", 2),  # timeout, then the one retry times out too
    ("error", "injected failure", 2),
    ("no_citations", NO_CITATION, 1),
    ("invalid_citations", NO_CITATION, 1),
])
def test_fallback_when_the_llm_fails(service, standin, mode, error_part, calls):
    standin.mode = mode
    if mode == "slow":  # the stand-in sleeps 3 s; a generous timeout elsewhere keeps a loaded machine from flaking
        service.settings = service.settings.model_copy(update={"llm_timeout_s": 1.0})
        service.llm.settings = service.settings
    result = service.generate(REPORT)
    assert result.generator == "fallback" and result.model is None
    assert error_part in result.llm_error
    assert len(standin.requests) == calls
    # The fallback is cited, grounded, and addresses the two weakest dimensions where they happen.
    assert result.citations and result.invalid_markers == []
    assert "clean pedalling" in result.text.lower() and "steady timing" in result.text.lower()
    assert "0:10–0:18" in result.text and "bars 5–7" in result.text
    assert result.grounding_rate is not None and result.grounding_rate >= 0.5
    if mode == "invalid_citations":
        assert result._raw_validity == 0.0


def test_one_retry_recovers(service, standin):
    standin.mode = "error_once"
    result = service.generate(REPORT)
    assert result.generator == "llm" and len(standin.requests) == 2


def test_stream_ends_with_the_checked_text(service, standin):
    standin.answer = "Keep the pedal short [3]. Test strict time with the metronome briefly [2][9]."
    events = list(service.stream(REPORT))
    assert events[0].type == "start" and events[-1].type == "done"
    draft = "".join(e.text for e in events if e.type == "delta")
    assert draft == standin.answer
    final = events[-1].result
    assert final.generator == "llm" and final.invalid_markers == ["[9]"]
    assert final.text == "Keep the pedal short [1]. Test strict time with the metronome briefly [2]."


@pytest.mark.parametrize("mode", ["error", "stream_break"])
def test_stream_error_then_fallback(service, standin, mode):
    standin.mode = mode
    events = list(service.stream(REPORT))
    kinds = [e.type for e in events]
    assert kinds[0] == "start" and kinds[-2:] == ["error", "done"]
    assert events[-1].result.generator == "fallback" and events[-1].result.citations


def test_chat_uses_history_for_retrieval_and_falls_back(service, standin):
    history = [ChatTurn(role="user", content="How should I use the pedal in slow pieces?"),
               ChatTurn(role="assistant", content="Sparingly [1].")]
    result = service.chat(question="And in fast ones?", history=history, report=REPORT)
    assert result.generator == "llm"
    assert "pedal" in condensed_question("And in fast ones?", history)  # what retrieval searched for
    sent = standin.requests[-1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    standin.mode = "error"
    fallback = service.chat(question="How do I practise scales?", history=[], report=None)
    assert fallback.generator == "fallback" and fallback.citations
