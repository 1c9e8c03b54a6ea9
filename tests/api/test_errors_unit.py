"""The one error table (api.errors.STATUS): every error class of every package is in it, statuses are
consistent per code, and the most specific class in an error's MRO wins."""

from __future__ import annotations

import inspect
from types import ModuleType

import pytest

import api.errors
import corpus.errors
import rag.generation.errors
import rag.retrieval.errors
import scorer.errors
from api.errors import EXPECTED_ERRORS, STATUS, CadenzaError, RateLimited, message_of, status_of

ERROR_MODULES = (api.errors, scorer.errors, corpus.errors, rag.retrieval.errors, rag.generation.errors)


def defined_errors(module: ModuleType) -> set[type[Exception]]:
    return {
        obj
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, Exception) and obj.__module__ == module.__name__
    }


@pytest.mark.parametrize("module", ERROR_MODULES, ids=lambda m: m.__name__)
def test_every_error_class_has_a_row(module: ModuleType) -> None:
    errors = defined_errors(module)
    assert errors, f"{module.__name__} defines no errors"
    assert errors - set(STATUS) == set()


def test_every_row_is_an_expected_error_with_an_http_error_status() -> None:
    for cls, (status, code) in STATUS.items():
        assert issubclass(cls, EXPECTED_ERRORS), cls
        assert 400 <= status <= 599 and code == code.lower() and " " not in code, (cls, status, code)


def test_one_code_means_one_status() -> None:
    by_code: dict[str, set[int]] = {}
    for status, code in STATUS.values():
        by_code.setdefault(code, set()).add(status)
    assert {code: s for code, s in by_code.items() if len(s) > 1} == {}
    assert by_code["invalid_input"] == {400} and by_code["upstream_error"] == {502}


def test_package_roots_are_server_errors_and_their_input_errors_are_400() -> None:
    assert status_of(scorer.errors.ScorerError("x")) == (500, "scorer_error")
    assert status_of(corpus.errors.CorpusError("x")) == (500, "corpus_error")
    assert status_of(rag.retrieval.errors.RetrievalError("x")) == (500, "retrieval_error")
    assert status_of(rag.generation.errors.GenerationError("x")) == (500, "generation_error")
    assert status_of(rag.generation.errors.FeedbackInputError("x")) == (400, "invalid_input")
    assert status_of(corpus.errors.DocumentError("x")) == (400, "invalid_input")


def test_a_subclass_without_a_row_takes_its_nearest_parent_s() -> None:
    class OddRecording(scorer.errors.RecordingTooLarge):
        pass

    class OddLLM(rag.generation.errors.LLMTimeout):
        pass

    assert status_of(OddRecording("x")) == (413, "too_large")
    assert status_of(OddLLM("x")) == (504, "upstream_timeout")
    assert status_of(KeyError("x")) == (500, "internal_error")


def test_message_of_prefers_the_message_attribute() -> None:
    assert message_of(CadenzaError("shown", detail={"a": 1})) == "shown"
    assert message_of(RateLimited("slow down", retry_after_s=3)) == "slow down"
    assert message_of(scorer.errors.RecordingError("cannot decode")) == "cannot decode"
    assert RateLimited("x", retry_after_s=7).retry_after_s == 7
