"""Migrations, tutor-session storage, a database restart between requests and job recovery after a crash,
on SQLite and on Postgres."""

from __future__ import annotations

import os
import subprocess

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import api.db_models  # noqa: F401
import corpus.models  # noqa: F401
from api.database import Database
from api.db_models import Job, Performance
from api.settings import Settings
from corpus.db import Base
from tests.api_support import Api, interrupted_job, start_api


def test_migrations_create_every_table_of_the_shared_metadata(api_settings: Settings) -> None:
    db = Database(api_settings)
    api_settings.home.mkdir(parents=True, exist_ok=True)
    db.migrate()
    db.migrate()  # idempotent
    tables = set(inspect(db.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert {
        "api_keys",
        "performances",
        "jobs",
        "feedback",
        "sessions",
        "messages",
        "documents",
        "chunks",
        "index_state",
        "alembic_version",
    } <= tables
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"
    db.dispose()


def test_migration_adopts_catalogue_tables_created_by_the_retriever_first(api_settings: Settings) -> None:
    from corpus.catalogue import Catalogue

    api_settings.home.mkdir(parents=True, exist_ok=True)
    Catalogue(api_settings.resolved_database_url).engine.dispose()
    db = Database(api_settings)
    db.migrate()
    assert {"documents", "api_keys"} <= set(inspect(db.engine).get_table_names())
    db.dispose()


def test_session_history_is_stored_and_deleted(api: Api) -> None:
    created = api.client.post("/v1/sessions", headers=api.student, json={"performance_id": None})
    assert created.status_code == 201
    body = created.json()
    assert body["messages"] == [] and body["created_at"].endswith("Z") or "+00:00" in body["created_at"]
    session_id = body["id"]
    assert [s["id"] for s in api.client.get("/v1/sessions", headers=api.student).json()["items"]] == [
        session_id
    ]
    unknown_performance = api.client.post(
        "/v1/sessions", headers=api.student, json={"performance_id": "nope"}
    )
    assert unknown_performance.status_code == 404
    assert api.client.delete(f"/v1/sessions/{session_id}", headers=api.student).status_code == 204
    assert api.client.get(f"/v1/sessions/{session_id}", headers=api.student).status_code == 404
    assert api.count("sessions") == 0


def _restart_postgres() -> None:
    data, bin_dir, user = (os.environ.get(k) for k in ("CZTEST_PG_DATA", "CZTEST_PG_BIN", "CZTEST_PG_USER"))
    if not (data and bin_dir and user):
        pytest.skip("the Postgres restart needs CZTEST_PG_DATA/_BIN/_USER from .ci/services.d/postgres.sh")
    prefix = ["runuser", "-u", user, "--"] if os.geteuid() == 0 and user != "root" else []
    # -l and no pipes: the restarted server must not hold our stdout open (run() would wait for it).
    subprocess.run(
        [*prefix, f"{bin_dir}/pg_ctl", "-D", data, "-m", "fast", "-w", "-l", f"{data}/server.log", "restart"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
    )


def test_database_restart_between_requests(api: Api) -> None:
    assert api.client.post("/v1/sessions", headers=api.student, json={}).status_code == 201
    if api.settings.database_url:
        _restart_postgres()  # every pooled connection is now dead
    else:
        api.state.db.engine.dispose()  # SQLite: the nearest thing, all connections closed under the app
    listed = api.client.get("/v1/sessions", headers=api.student)
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["items"]) == 1
    assert api.client.post("/v1/sessions", headers=api.student, json={}).status_code == 201


def test_restart_fails_an_interrupted_job_explicitly_after_its_attempts(api_settings: Settings) -> None:
    api_settings.home.mkdir(parents=True, exist_ok=True)
    db = Database(api_settings)
    db.migrate()
    interrupted_job(db, attempts=api_settings.job_max_attempts)
    db.dispose()
    for api_ in start_api(api_settings):
        with api_.state.db.session() as session:
            job = session.get(Job, "j1")
            performance = session.get(Performance, "p1")
            assert job.status == "failed" and "interrupted" in (job.error or "")
            assert performance.status == "failed" and "interrupted" in (performance.error or "")


def test_restart_requeues_an_interrupted_job_with_attempts_left(api_settings: Settings) -> None:
    api_settings.home.mkdir(parents=True, exist_ok=True)
    db = Database(api_settings)
    db.migrate()
    interrupted_job(db, attempts=0)
    db.dispose()
    from api.state import AppState

    # Recovery alone (no worker thread): the job goes back to the queue, visibly.
    app_state = AppState(api_settings)
    assert app_state.worker.recover() == 1
    with app_state.db.session() as session:
        assert session.get(Job, "j1").status == "queued"
        assert session.get(Performance, "p1").status == "queued"
    app_state.db.dispose()
