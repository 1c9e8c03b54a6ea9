"""Defects a hostile probe of the REST service found (issue 21): each test failed before its fix.

These need no ../shared data: the app runs on an empty data home with SQLite.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pretty_midi
import pytest

from api.database import Database
from api.settings import Settings
from tests.api_support import Api, interrupted_job, start_api


@pytest.fixture()
def bare_api(unit_settings: Settings) -> Iterator[Api]:
    # No scoring worker: these tests look at what the upload stores, not at the report.
    settings = unit_settings.model_copy(update={"rate_limit_per_minute": 4, "jobs_in_process": False})
    yield from start_api(settings)


def _midi_bytes(seconds: float = 2.0) -> bytes:
    midi = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    for i in range(int(seconds * 2)):
        piano.notes.append(pretty_midi.Note(velocity=80, pitch=60 + i % 12, start=i / 2, end=i / 2 + 0.45))
    midi.instruments.append(piano)
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


def test_openapi_operation_ids_are_readable(bare_api: Api) -> None:
    schema = bare_api.client.get("/openapi.json").json()
    ids = [op["operationId"] for path in schema["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert {"performances-create", "performances-get", "documents-search", "sessions-create"} <= set(ids)
    # FastAPI's default (create_performance_v1_performances_post) is what generated clients would show.
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)+", op_id) for op_id in ids), ids


def test_docs_page_loads_nothing_from_a_cdn(bare_api: Api) -> None:
    page = bare_api.client.get("/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text and "https://" not in page.text.split("<body>", 1)[-1]
    scripts = re.findall(r'src="([^"]+)"', page.text) + re.findall(r'href="([^"]+\.css)"', page.text)
    assert scripts, page.text
    for url in scripts:
        asset = bare_api.client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 10_000, url


def test_failed_authentication_is_rate_limited_per_client_address(bare_api: Api) -> None:
    bad = {"Authorization": "Bearer cz_000000000000_not-a-key"}
    statuses = [bare_api.client.get("/v1/performances", headers=bad).status_code for _ in range(6)]
    assert statuses[:4] == [401] * 4
    assert statuses[4:] == [429, 429]
    limited = bare_api.client.get("/v1/performances", headers=bad)
    assert "Retry-After" in limited.headers and limited.json()["error"]["code"] == "rate_limited"
    # a valid key is limited on its own budget, not the address's
    assert bare_api.client.get("/v1/performances", headers=bare_api.student).status_code == 200


def test_control_characters_are_stripped_from_uploaded_filenames(bare_api: Api) -> None:
    boundary = "cadenzaboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="take\x00one\x07\x1b.mid"\r\n'
            f"Content-Type: audio/midi\r\n\r\n"
        ).encode()
        + _midi_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    created = bare_api.client.post(
        "/v1/performances",
        content=body,
        headers={**bare_api.student, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert created.status_code == 202, created.text
    shown = bare_api.client.get(f"/v1/performances/{created.json()['id']}", headers=bare_api.student).json()
    assert shown["filename"] == "takeone.mid"


def test_recovery_log_names_the_interrupted_worker(
    unit_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    unit_settings.home.mkdir(parents=True, exist_ok=True)
    db = Database(unit_settings)
    db.migrate()
    interrupted_job(db, attempts=0)
    db.dispose()
    from api.state import AppState

    state = AppState(unit_settings)
    with caplog.at_level(logging.WARNING, logger="cadenza.api"):
        assert state.worker.recover() == 1
    state.db.dispose()
    messages = [r.getMessage() for r in caplog.records if "interrupted" in r.getMessage()]
    assert messages and all("nohost-elsewhere:1:dead" in m and "None" not in m for m in messages), messages


@pytest.fixture()
def bare_api_on_each_database(unit_settings: Settings, database_url: str | None) -> Iterator[Api]:
    settings = unit_settings.model_copy(update={"database_url": database_url, "jobs_in_process": False})
    yield from start_api(settings)


def test_a_nul_character_in_an_id_or_a_text_is_a_client_error_on_every_database(
    bare_api_on_each_database: Api,
) -> None:
    """Postgres refuses NUL in a text column: it reached the database as a 500 (CI's schemathesis run)."""
    api = bare_api_on_each_database
    client, student = api.client, api.student
    created = client.post(
        "/v1/performances",
        files={"file": ("take.mid", _midi_bytes(), "audio/midi")},
        data={"title": "Ballade"},
        headers=student,
    )
    assert created.status_code == 202, created.text
    tutor = client.post("/v1/sessions", json={}, headers=student)
    assert tutor.status_code == 201, tutor.text
    attempts = {
        "feedback for a NUL id": client.post(
            "/v1/feedback", json={"performance_id": "k3\x00b"}, headers=student
        ),
        "a performance by a NUL id": client.get("/v1/performances/ab%00cd", headers=student),
        "a session by a NUL id": client.get("/v1/sessions/ab%00cd", headers=student),
        "a session for a NUL performance id": client.post(
            "/v1/sessions", json={"performance_id": "\x00"}, headers=student
        ),
        "a message with a NUL": client.post(
            f"/v1/sessions/{tutor.json()['id']}/messages", json={"content": "why\x00"}, headers=student
        ),
        "a title with a NUL": client.post(
            "/v1/performances",
            files={"file": ("take.mid", _midi_bytes(), "audio/midi")},
            data={"title": "Bal\x00lade"},
            headers=student,
        ),
    }
    for what, response in attempts.items():
        assert response.status_code in (400, 404, 422), f"{what}: {response.status_code} {response.text}"
        assert response.json()["error"]["message"], what
    listed = client.get("/v1/performances", headers=student).json()["items"]
    assert [p["title"] for p in listed] == ["Ballade"]  # the refused upload stored nothing
