"""API keys, roles, ownership, rate limit and the auth-off mode, through HTTP on SQLite and Postgres."""

from __future__ import annotations

import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from tests.api_support import Api, bearer, start_api

ERROR_KEYS = {"code", "message", "detail"}


def assert_error(response, status: int, code: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == ERROR_KEYS, body
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_missing_malformed_and_invalid_keys_get_401(api: Api) -> None:
    assert_error(api.client.get("/v1/performances"), 401, "unauthorized")
    assert_error(api.client.get("/v1/performances", headers={"Authorization": "Basic abc"}), 401)
    assert_error(api.client.get("/v1/performances", headers={"Authorization": "Bearer"}), 401)
    response = api.client.get("/v1/sessions", headers=bearer("cz_nothere_secret"))
    assert_error(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    assert api.client.get("/v1/performances", headers=api.student).status_code == 200


def test_keys_are_stored_hashed_and_revocation_takes_effect(api: Api) -> None:
    key_id, plain = api.new_key("student")
    with api.state.db.engine.connect() as conn:
        from sqlalchemy import text

        stored = [row[0] for row in conn.execute(text("SELECT key_hash FROM api_keys"))]
    assert plain not in stored and all(len(h) == 64 for h in stored)
    assert api.client.get("/v1/sessions", headers=bearer(plain)).status_code == 200
    from api.auth import revoke_key

    with api.state.db.session() as session:
        revoke_key(session, key_id)
    assert_error(api.client.get("/v1/sessions", headers=bearer(plain)), 401)


def test_student_cannot_write_documents_but_admin_role_is_checked_first(api: Api) -> None:
    response = api.client.post(
        "/v1/documents", headers=api.student, files={"file": ("a.txt", b"x", "text/plain")}
    )
    assert_error(response, 403, "forbidden")
    assert_error(api.client.delete("/v1/documents/whatever", headers=api.student), 403)


def test_other_students_objects_are_404_and_admin_sees_them(api: Api) -> None:
    created = api.client.post("/v1/sessions", headers=api.student, json={})
    assert created.status_code == 201
    session_id = created.json()["id"]
    for method in ("get", "delete"):
        assert_error(
            getattr(api.client, method)(f"/v1/sessions/{session_id}", headers=api.other_student), 404
        )
    assert_error(
        api.client.post(
            f"/v1/sessions/{session_id}/messages", headers=api.other_student, json={"content": "hello"}
        ),
        404,
    )
    assert api.client.get("/v1/sessions", headers=api.other_student).json()["items"] == []
    assert api.client.get(f"/v1/sessions/{session_id}", headers=api.admin).status_code == 200
    assert api.client.get(f"/v1/sessions/{session_id}", headers=api.student).status_code == 200


def test_rate_limit_gives_429_with_retry_after(api_settings: Settings) -> None:
    limited = api_settings.model_copy(update={"rate_limit_per_minute": 3})
    for api_ in start_api(limited):
        for _ in range(3):
            assert api_.client.get("/v1/sessions", headers=api_.student).status_code == 200
        response = api_.client.get("/v1/sessions", headers=api_.student)
        assert_error(response, 429, "rate_limited")
        assert 1 <= int(response.headers["retry-after"]) <= 60
        # The limit is per key: another key is not affected.
        assert api_.client.get("/v1/sessions", headers=api_.other_student).status_code == 200


def test_auth_off_only_on_loopback(api_settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    open_settings = api_settings.model_copy(update={"auth_enabled": False})
    with caplog.at_level("WARNING", logger="cadenza.api"):
        with TestClient(create_app(open_settings)) as client:
            assert client.get("/v1/sessions").status_code == 200  # no key needed
    assert "AUTHENTICATION IS OFF" in caplog.text
    exposed = open_settings.model_copy(update={"api_host": "0.0.0.0"})
    with pytest.raises(Exception, match="loopback"):
        with TestClient(create_app(exposed)):
            pass


def test_keys_cli_prints_only_the_key(api_settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"CADENZA_HOME": str(api_settings.home), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    if api_settings.database_url:
        env["CADENZA_DATABASE_URL"] = api_settings.database_url

    def cadenza(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "api.cli", *args], capture_output=True, text=True, env=env, timeout=120
        )

    created = cadenza("keys", "create", "--role", "admin", "--name", "ci")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert created.stdout.count("\n") == 1 and key.startswith("cz_")
    listed = cadenza("keys", "list", "--json")
    assert listed.returncode == 0 and key not in listed.stdout and '"role": "admin"' in listed.stdout
    key_id = key.split("_")[1]
    for api_ in start_api(api_settings):
        assert api_.client.get("/v1/documents/x", headers=bearer(key)).status_code in (404, 405)
        assert api_.client.get("/v1/sessions", headers=bearer(key)).status_code == 200
        assert cadenza("keys", "revoke", key_id).returncode == 0
        assert api_.client.get("/v1/sessions", headers=bearer(key)).status_code == 401
    bad = cadenza("keys", "create", "--role", "root")
    assert bad.returncode == 2 and "role" in bad.stderr and bad.stdout == ""
    assert cadenza("keys", "revoke", "nope").returncode == 2
