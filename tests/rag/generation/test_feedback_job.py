"""The feedback job (rag/job.py) that `cadenza feedback`, the REST routes and `rag-eval feedback` share:
score → retrieve → generate → check over components given as providers, with the CLI's JSON contract."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from rag.generation.errors import FeedbackInputError
from rag.job import FeedbackJob
from tests._feedback_support import feedback_config, make_report
from tests._llm_standin import StandIn

REPORT = make_report({"pedal_clarity": 0.30, "timing_stability": 0.36})


@pytest.fixture()
def standin():
    server = StandIn()
    yield server
    server.close()


class StubScorer:
    def __init__(self) -> None:
        self.scored: list[tuple[Path, object]] = []

    def score_path(self, path: Path, *, source_name: str | None = None, score: object = None):
        self.scored.append((path, score))
        return REPORT.model_copy(update={"source": source_name})


def _job(retriever, standin, opened: list, scorer=None) -> FeedbackJob:
    config = feedback_config(
        retriever, llm_model="openai/standin", llm_api_base=standin.api_base, llm_timeout_s=20.0
    )

    def provide():
        opened.append(retriever)
        return retriever

    return FeedbackJob(config, provide, scorer=scorer)


def test_nothing_to_warm_up_for_a_configured_server_or_a_given_llm(retriever, standin):
    """The warm-up is for the embedded llama.cpp server only (a configured one is warmed by whoever runs it)."""
    from rag.generation.llm import LLMClient

    assert _job(retriever, standin, []).warm_up() is None
    embedded = feedback_config(retriever)
    assert (
        embedded.embedded
        and FeedbackJob(embedded, lambda: retriever, llm=LLMClient(embedded)).warm_up() is None
    )
    off = dataclasses.replace(embedded, local_llm_warm_up=False)  # CADENZA_LOCAL_LLM_WARM_UP=false
    assert FeedbackJob(off, lambda: retriever).warm_up() is None


def test_run_from_a_report_gives_the_cli_contract(retriever, standin):
    opened: list = []
    job = _job(retriever, standin, opened)
    assert opened == []  # nothing is opened before the job needs it
    outcome = job.run(report=REPORT, piece="Nocturne", composer="Chopin")
    payload = outcome.payload()
    assert set(payload) == {"performance", "feedback", "latency_ms"}
    assert payload["performance"] == REPORT.model_dump(mode="json")
    assert payload["feedback"]["generator"] == "llm" and payload["feedback"]["citations"]
    assert (
        "trace" not in payload["feedback"] and outcome.feedback.trace.raw_text
    )  # rag-eval's, not the contract's
    latency = outcome.latency_ms
    assert "scoring" not in latency and {
        "open_retriever",
        "feedback_retrieval",
        "feedback_llm",
        "total",
    } <= set(latency)
    job.generate(REPORT)
    assert len(opened) == 1  # the retriever is opened once per job


def test_run_from_a_recording_scores_it_first(retriever, standin, tmp_path):
    scorer = StubScorer()
    job = _job(retriever, standin, [], scorer=lambda: scorer)
    recording = tmp_path / "take.wav"
    outcome = job.run(recording=recording)
    assert scorer.scored == [(recording, None)] and outcome.report.source == "take.wav"
    assert list(outcome.latency_ms)[:2] == ["scoring", "open_retriever"]
    assert outcome.feedback.generator == "llm"


def test_a_recording_needs_a_scorer_and_one_input_is_required(retriever, standin, tmp_path):
    job = _job(retriever, standin, [])
    with pytest.raises(FeedbackInputError, match="no scorer"):
        job.run(recording=tmp_path / "take.wav")
    with pytest.raises(FeedbackInputError, match="recording or a scorer report"):
        job.run()
    with pytest.raises(FeedbackInputError, match="recording or a scorer report"):
        job.run(recording=tmp_path / "take.wav", report=REPORT)


def test_fallback_and_chat_go_through_the_same_service(retriever, standin):
    job = _job(retriever, standin, [])
    fallback = job.fallback(REPORT)
    assert fallback.generator == "fallback" and fallback.citations and fallback.trace.raw_text is None
    events = list(job.chat_stream(question="How do I pedal a slow piece?", history=[], report=None))
    assert events[0].type == "start" and events[-1].type == "done" and events[-1].result is not None
    assert job.model == "openai/standin" and job.service is job.prepare().service
