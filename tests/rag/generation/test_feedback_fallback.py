"""FeedbackService around LLM faults (timeout, server error, broken stream, no / invalid citations),
injected by a stand-in OpenAI-compatible server on loopback; retrieval, citation check, grounding
(real MiniLM) and fallback are the real ones."""

from __future__ import annotations

import dataclasses

import pytest

from rag.generation.feedback import NO_CITATION, FeedbackService
from rag.generation.feedback_types import ChatTurn
from rag.generation.query import condensed_question
from tests._feedback_support import feedback_config, make_report
from tests._llm_standin import StandIn


@pytest.fixture()
def standin():
    server = StandIn()
    yield server
    server.close()


@pytest.fixture()
def service(standin, retriever):
    config = feedback_config(
        retriever, llm_model="openai/standin", llm_api_base=standin.api_base, llm_timeout_s=20.0
    )
    return FeedbackService(config, retriever)


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


@pytest.mark.parametrize(
    ("mode", "error_part", "calls"),
    [
        ("slow", "timed out", 2),  # timeout, then the one retry times out too
        ("error", "injected failure", 2),
        ("no_citations", NO_CITATION, 1),
        ("invalid_citations", NO_CITATION, 1),
    ],
)
def test_fallback_when_the_llm_fails(service, standin, mode, error_part, calls):
    standin.mode = mode
    if (
        mode == "slow"
    ):  # the stand-in sleeps 3 s; a generous timeout elsewhere keeps a loaded machine from flaking
        service.config = dataclasses.replace(service.config, llm_timeout_s=1.0)
        service.llm.config = service.config
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
        assert result.trace.raw_validity == 0.0


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
    history = [
        ChatTurn(role="user", content="How should I use the pedal in slow pieces?"),
        ChatTurn(role="assistant", content="Sparingly [1]."),
    ]
    result = service.chat(question="And in fast ones?", history=history, report=REPORT)
    assert result.generator == "llm"
    assert "pedal" in condensed_question("And in fast ones?", history)  # what retrieval searched for
    sent = standin.requests[-1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    standin.mode = "error"
    fallback = service.chat(question="How do I practise scales?", history=[], report=None)
    assert fallback.generator == "fallback" and fallback.citations


# --- per weak dimension (the embedded model's strategy) and the stricter support policy -------------


@pytest.fixture()
def per_dim(service):
    service.config = dataclasses.replace(service.config, feedback_strategy="per_dimension")
    return service


def test_per_dimension_calls_get_one_source_each(per_dim, standin):
    standin.answer = "Change the pedal with every new harmony, listening to the bass."  # no marker written
    result = per_dim.generate(REPORT, piece="Nocturne", composer="Chopin")
    assert len(standin.requests) == 2 and result.generator == "llm"
    users = [r["messages"][-1]["content"] for r in standin.requests]
    assert [u.count("<source>") for u in users] == [1, 1]
    assert "clean pedalling" in users[0] and "0:10–0:18" in users[0] and "steady timing" in users[1]
    # Cadenza writes what and where; each call's sentences are attributed to the one source it was given.
    assert "Clean pedalling is" in result.text and "0:10–0:18 (bars 5–7)" in result.text
    assert result.text.count("listening to the bass [") == 2 and len(result.citations) == 2
    assert result.trace.raw_validity is None  # the model wrote no marker itself: nothing to count as valid
    assert result.trace.candidate_text is not None and result.trace.candidate_text == result.text


def test_per_dimension_drops_echoes_and_keeps_invalid_markers_invalid(per_dim, standin):
    standin.answer = "Advise the student from passage [1]. Lift the pedal as the new chord sounds [9]."
    result = per_dim.generate(REPORT)
    assert "Advise the student" not in result.text
    assert result.generator == "fallback" and result.llm_error == NO_CITATION
    assert (
        result.trace.raw_validity == 0.0 and "[9]" in result.trace.raw_text
    )  # the echo went, the invalid marker stayed


def test_per_dimension_stream_draft_is_what_the_model_and_cadenza_wrote(per_dim, standin):
    standin.answer = "Count the beats aloud [2]."
    events = list(per_dim.stream(REPORT))
    draft = "".join(e.text for e in events if e.type == "delta")
    assert draft.count("Count the beats aloud [2].") == 2 and draft.startswith("Strength:")
    assert events[-1].type == "done" and events[-1].result.generator == "llm"


def test_require_support_falls_back_on_unsupported_citations(service, standin):
    standin.answer = (
        "Buy a new piano bench in a bright colour [1]."  # valid marker, no support in any passage
    )
    lenient = service.generate(REPORT)
    assert lenient.generator == "llm" and lenient.citations[0].supported is False
    service.config = dataclasses.replace(service.config, feedback_require_support=True)
    strict = service.generate(REPORT)
    assert strict.generator == "fallback" and "supported" in strict.llm_error
    assert (
        strict.citations and strict.trace.candidate_grounding_rate == 0.0
    )  # the rejected answer is kept for rag-eval


def test_strategy_and_policy_follow_the_deployment(retriever):
    embedded = FeedbackService(feedback_config(retriever, llm_api_base=None), retriever).config
    served = FeedbackService(feedback_config(retriever, llm_api_base="http://vllm:8000/v1"), retriever).config
    # embedded: the JSON-schema answer Cadenza cites itself (its grounding is reported, not a reason to discard
    # it); a configured server: one free-text prompt
    assert embedded.strategy == "structured" and embedded.structured and not embedded.require_support
    assert served.strategy == "single" and not served.per_dimension and not served.require_support


# --- passages and quotes chosen by what they say about the weak dimension ---------------------------


def test_best_sentences_are_sentences_of_the_text_ranked_by_the_query(retriever):
    texts = [h.text for h in retriever.search("pedal harmony change", k=3)]
    best = retriever.best_sentences("change the pedal when the harmony changes", texts)
    assert len(best) == 3
    for text, (sentence, score) in zip(texts, best, strict=True):
        assert sentence and sentence.split()[0] in text and -1.0 <= score <= 1.0
    # The query's own sentence is closer to it than a sentence about something else.
    (near, near_score), (far, far_score) = retriever.best_sentences(
        "change the pedal with the harmony",
        [
            "Change the pedal with each new harmony, listening to the bass.",
            "Schumann wrote these rules for young musicians in a small book.",
        ],
    )
    assert near_score > far_score + 0.2


def test_dimension_candidates_are_ordered_by_the_topic_without_the_composer(service):
    from rag.generation.query import feedback_queries

    query = next(
        q
        for q in feedback_queries(REPORT, piece="Nocturne", composer="Chopin")
        if q.dimension == "pedal_clarity"
    )
    assert "Chopin" in query.text and query.topic and "Chopin" not in query.topic
    hits = service._search(query, 5)
    relevance = [score for _, score in service.retriever.best_sentences(query.topic, [h.text for h in hits])]
    assert relevance == sorted(relevance, reverse=True)
    plain = service.retriever.search(query.text, k=5)  # what the retriever alone ranks first for the query
    best_plain = service.retriever.best_sentences(query.topic, [plain[0].text])[0][1]
    assert relevance[0] >= best_plain


def test_fallback_quotes_the_sentence_closest_to_the_dimension(service, standin):
    from rag.generation.fallback import QUOTE_WORDS
    from rag.generation.query import feedback_queries

    standin.mode = "error"
    result = service.generate(REPORT, piece="Nocturne", composer="Chopin")
    assert result.generator == "fallback"
    line = next(ln for ln in result.text.splitlines() if ln.startswith("Clean pedalling"))
    quote = line.split('"')[1]
    cited = next(c for c in result.citations if f"[{c.n}]" in line)
    chunk = next(r.text for r in service.retriever._chunks.values() if r.chunk_id == cited.chunk_id)
    topic = next(
        q.topic
        for q in feedback_queries(REPORT, piece="Nocturne", composer="Chopin")
        if q.dimension == "pedal_clarity"
    )
    best, _ = service.retriever.best_sentences(topic, [chunk])[0]
    words = best.replace('"', "'").replace("“", "'").replace("”", "'").split()
    assert quote == " ".join(words[:QUOTE_WORDS]) + (" …" if len(words) > QUOTE_WORDS else "")


def test_per_dimension_part_with_nothing_left_gets_the_cited_quote(per_dim, standin):
    # The 0.5B model's habit: the worked example rewritten with the student's times. It is dropped as an echo,
    # and the dimension gets the fallback's cited advice instead of no advice at all.
    standin.answer = "At 0:10–0:18, play the scale slowly with a loose wrist and pass the thumb under without turning the hand."
    result = per_dim.generate(REPORT, piece="Nocturne", composer="Chopin")
    assert result.generator == "llm" and result.trace.filled_parts == 2
    assert "thumb under" not in result.text
    lines = [ln for ln in result.text.splitlines() if ln.startswith(("Clean pedalling", "Steady timing"))]
    assert len(lines) == 2 and all(
        "practise those passages slowly with this advice from" in ln for ln in lines
    )
    assert len(result.citations) == 2 and all(f"[{c.n}]" in result.text for c in result.citations)
