"""Schemathesis over the OpenAPI document: at least 500 generated requests (valid and invalid) against
the real app (real scorer, retriever and feedback service; a small index) with the LLM replaced by a
fast stand-in that injects faults (errors, broken streams, answers without citations). No 5xx allowed.

The same run from the command line against `cadenza serve` is in the README ("REST service")."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from api.settings import Settings
from tests._llm_standin import StandIn
from tests.api_support import Api, start_api

EXAMPLES_PER_OPERATION_AND_MODE = 40  # up to; operations with few inputs run out sooner
FAULTS = ("ok", "error", "no_citations", "invalid_citations", "stream_break", "error_once")


@pytest.fixture()
def faulty_llm() -> Iterator[StandIn]:
    server = StandIn()
    stop = threading.Event()

    def rotate() -> None:  # a different fault every few requests
        for mode in itertools.cycle(FAULTS):
            server.mode = mode
            if stop.wait(0.15):
                return

    threading.Thread(target=rotate, daemon=True).start()
    yield server
    stop.set()
    server.close()


@pytest.fixture()
def fuzzed_api(
    tmp_path: Path, shared_dir: Path, database_url: str | None, embedding_cache_dir: Path, faulty_llm: StandIn
) -> Iterator[Api]:
    settings = Settings(
        home=tmp_path / "home",
        shared_dir=shared_dir,
        database_url=database_url,
        rate_limit_per_minute=1_000_000,
        embedding_cache_dir=embedding_cache_dir,
        llm_model="openai/standin",
        llm_api_base=faulty_llm.api_base,
        llm_timeout_s=0.5,
        llm_retries=0,
        upload_max_bytes=2 * 1024 * 1024,
        document_max_bytes=256 * 1024,
    )
    for api in start_api(settings):
        # A small index so that search, feedback and chat run their whole path quickly.
        text = (
            "Pedalling. Change the damper pedal exactly when the harmony changes, listening to the bass.\n\n"
            "Timing. Practise with a metronome, then without it, keeping the pulse steady.\n\n"
            "Dynamics. Shape each phrase toward its climax and let it fall away afterwards.\n"
        )
        created = api.client.post(
            "/v1/documents",
            headers=api.admin,
            files={"file": ("basics.md", text.encode(), "text/markdown")},
            data={"title": "Basics", "author": "Test Teacher"},
        )
        assert created.status_code == 201, created.text
        yield api


@pytest.mark.slow
def test_no_server_error_on_generated_requests(fuzzed_api: Api) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_api.app)
    cases = 0
    server_errors: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: schemathesis.Case) -> None:
                nonlocal cases
                headers = dict(case.headers or {})
                headers.setdefault("Authorization", fuzzed_api.admin["Authorization"])
                case.headers = headers
                response = case.call()
                cases += 1
                if response.status_code >= 500:
                    server_errors.append(
                        f"{case.method} {case.formatted_path} -> {response.status_code}: "
                        f"{response.text[:300]}"
                    )

            try:
                run()
            except Unsatisfiable:  # no invalid request exists for an operation without inputs (/healthz)
                assert mode is GenerationMode.NEGATIVE
    print(f"schemathesis: {cases} generated requests, {len(server_errors)} server errors")
    assert cases >= 500, f"only {cases} generated requests"
    assert server_errors == [], "\n".join(server_errors[:20])
