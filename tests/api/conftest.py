"""Fixtures of the REST service tests: each API test runs against SQLite and against the PostgreSQL
server that `.ci/run` starts (helpers in tests/api_support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.settings import Settings
from tests.api_support import BACKENDS, Api, start_api, temporary_database


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None (SQLite under the test's home) or the URL of a fresh Postgres database."""
    yield from temporary_database(request.param)


@pytest.fixture(scope="module", params=BACKENDS)
def module_database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The same, shared by the tests of one module (for fixtures that index documents once)."""
    yield from temporary_database(request.param)


@pytest.fixture()
def api_settings(
    tmp_path: Path, shared_dir: Path, database_url: str | None, embedding_cache_dir: Path
) -> Settings:
    # embedding_cache_dir (tests/conftest.py): a book is embedded once, however many tests index it.
    return Settings(
        home=tmp_path / "home",
        shared_dir=shared_dir,
        database_url=database_url,
        rate_limit_per_minute=10_000,
        embedding_cache_dir=embedding_cache_dir,
        local_llm_warm_up=False,  # WARM_UP_OFF (tests/api_support.py); also for its `cadenza serve` subprocesses
    )


@pytest.fixture()
def api(api_settings: Settings) -> Iterator[Api]:
    yield from start_api(api_settings)
