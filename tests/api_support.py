"""Helpers for the REST service tests (tests/api/); their fixtures are in tests/api/conftest.py.

Every API test runs against SQLite and against the PostgreSQL server that `.ci/run` starts
(CADENZA_TEST_POSTGRES_URL); the Postgres variant is skipped only when that variable is unset.
Each Postgres test gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from api.app import create_app
from api.auth import create_key
from api.database import Database
from api.db_models import Job, Performance
from api.settings import Settings

POSTGRES_ENV = "CADENZA_TEST_POSTGRES_URL"


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def temporary_database(kind: str) -> Iterator[str | None]:
    if kind == "sqlite":
        yield None
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set (CI always sets it: .ci/services.d/postgres.sh)")
    name = f"cz_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


SMALL_BOOKS = ("saint_saens_execution_of_music", "schumann_advice_to_young_musicians")


def manifest_row(settings: Settings, slug: str) -> dict[str, str]:
    import csv

    with open(settings.corpus_manifest, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["slug"] == slug:
                return row
    raise KeyError(slug)


def upload_book(api: Api, slug: str) -> Any:
    """POST one book of the shared corpus to /v1/documents with its manifest metadata."""
    row = manifest_row(api.settings, slug)
    path = api.settings.corpus_dir / f"{slug}.txt"
    return api.client.post(
        "/v1/documents",
        headers=api.admin,
        files={"file": (path.name, path.read_bytes(), "text/plain")},
        data={
            "title": row["title"],
            "author": row["author"],
            "year": row["year"][:20],
            "url": row["original_source_url"],
            "licence": "public domain",
            "slug": slug,
        },
    )


@dataclass
class Api:
    """A started app with a test client and a few keys."""

    app: FastAPI
    client: TestClient
    settings: Settings
    student: dict[str, str]
    other_student: dict[str, str]
    admin: dict[str, str]

    @property
    def state(self) -> Any:
        return self.app.state.cadenza

    def new_key(self, role: str) -> tuple[str, str]:
        with self.state.db.session() as session:
            row, plain = create_key(session, role=role)
            return row.id, plain

    def count(self, table: str) -> int:
        with self.state.db.engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


# WARM_UP_OFF: the in-process API tests do not ask the embedded LLM for feedback (their LLM is the stand-in or
# none), so the start-up's warm-up would only load a model and the corpus index beside every test;
# tests/api/test_api_llm_warm_up.py runs it with the default.


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def start_api(settings: Settings) -> Iterator[Api]:
    if "local_llm_warm_up" not in settings.model_fields_set:
        settings = settings.model_copy(update={"local_llm_warm_up": False})  # WARM_UP_OFF unless a test asks
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        state = app.state.cadenza
        keys = []
        for role in ("student", "student", "admin"):
            with state.db.session() as session:
                keys.append(create_key(session, role=role)[1])
        yield Api(
            app=app,
            client=client,
            settings=settings,
            student=bearer(keys[0]),
            other_student=bearer(keys[1]),
            admin=bearer(keys[2]),
        )


def start_module_api(
    tmp_path_factory: pytest.TempPathFactory, shared_dir: Path, database_url: str | None, **overrides: Any
) -> Iterator[Api]:
    """A service for one test module: its own home, the shared data, no practical rate limit."""
    settings = Settings(
        home=tmp_path_factory.mktemp("home"),
        shared_dir=shared_dir,
        database_url=database_url,
        rate_limit_per_minute=10_000,
        **overrides,
    )
    yield from start_api(settings)


def wait_scored(
    api: Api, performance_id: str, headers: dict[str, str] | None = None, timeout_s: float = 600
) -> dict:
    """Poll a performance until its scoring job ends; it must have ended done. Returns the performance."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = api.client.get(f"/v1/performances/{performance_id}", headers=headers or api.student).json()
        if body["status"] in ("done", "failed"):
            assert body["status"] == "done", body
            return body
        time.sleep(0.2)
    raise AssertionError(f"performance {performance_id} not scored in {timeout_s} s")


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


def stored_uploads(settings: Settings) -> list[Path]:
    """Every file an upload left under the data home (audio store and staging)."""
    return files_under(settings.home / "uploads")


def interrupted_job(db: Database, *, attempts: int) -> str:
    """A performance whose job was 'running' in a process that died (as after kill -9)."""
    with db.session() as session:
        session.add(
            Performance(
                id="p1",
                owner="someone",
                status="running",
                audio_sha256="0" * 64,
                audio_path="uploads/audio/00/missing.wav",
                size_bytes=1,
            )
        )
        session.flush()
        session.add(
            Job(
                id="j1",
                performance_id="p1",
                status="running",
                attempts=attempts,
                worker="nohost-elsewhere:1:dead",
                started_at=datetime.now(UTC) - timedelta(hours=1),
                heartbeat_at=datetime.now(UTC) - timedelta(hours=1),
            )
        )
    return "p1"
