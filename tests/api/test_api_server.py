"""A real `cadenza serve` process killed with SIGKILL mid-upload and mid-indexing: no partial rows, no
partial chunks, no partial files once it is back. SQLite and Postgres."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from api.database import Database
from api.settings import REPO_ROOT, Settings
from tests.api_support import files_under


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`python -m api.cli serve` in a subprocess, configured through CADENZA_* variables."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CADENZA_")},
            "CADENZA_HOME": str(settings.home),
            "CADENZA_SHARED_DIR": str(settings.shared_dir),
            "CADENZA_EMBEDDING_CACHE_DIR": str(settings.resolved_embedding_cache_dir),
            "CADENZA_RATE_LIMIT_PER_MINUTE": "10000",
            "CADENZA_LOCAL_LLM_WARM_UP": str(settings.local_llm_warm_up).lower(),
            "HF_HUB_OFFLINE": "1",
        }
        if settings.database_url:
            self.env["CADENZA_DATABASE_URL"] = settings.database_url
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "api.cli", *args],
            env=self.env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "api.cli",
                    "serve",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                env=self.env,
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError("server did not start: " + self.log.read_text()[-3000:])

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture()
def server(api_settings: Settings, tmp_path: Path) -> Iterator[Server]:
    srv = Server(api_settings, tmp_path / "server.log")
    yield srv
    srv.stop()


def table_counts(settings: Settings, *tables: str) -> dict[str, int]:
    db = Database(settings)
    try:
        with db.engine.connect() as conn:
            return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in tables}
    finally:
        db.dispose()


def test_kill_mid_upload_leaves_no_rows_and_no_partial_file(server: Server, api_settings: Settings) -> None:
    key = server.cli("keys", "create", "--role", "student")
    server.start()
    staging = api_settings.home / "uploads" / "staging"
    wav = (
        api_settings.shared_dir / "data/percepiano/examples/Beethoven_WoO80_var27_8bars_3_15.wav"
    ).read_bytes()
    release = threading.Event()

    def body() -> Iterator[bytes]:
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'
        yield wav[: len(wav) // 2]
        release.wait(60)  # the rest never comes: the server is killed meanwhile
        yield wav[len(wav) // 2 :]

    def send() -> None:
        try:
            httpx.post(
                f"{server.url}/v1/performances",
                content=body(),
                timeout=60,
                headers={"Authorization": f"Bearer {key}", "Content-Type": "multipart/form-data; boundary=b"},
            )
        except httpx.HTTPError:
            pass  # the connection dies with the server

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    deadline = time.monotonic() + 60
    while not any(p.stat().st_size > 0 for p in files_under(staging)):
        assert time.monotonic() < deadline, "the upload never reached the staging folder"
        time.sleep(0.1)
    server.kill()
    release.set()
    sender.join(30)
    assert table_counts(api_settings, "performances", "jobs") == {"performances": 0, "jobs": 0}
    server.start()  # `cadenza serve` removes what the crash left in staging before serving
    assert files_under(api_settings.home / "uploads") == []
    listed = httpx.get(f"{server.url}/v1/performances", headers={"Authorization": f"Bearer {key}"})
    assert listed.status_code == 200 and listed.json()["items"] == []


def test_kill_mid_indexing_leaves_no_document_or_chunks(server: Server, api_settings: Settings) -> None:
    key = server.cli("keys", "create", "--role", "admin")
    headers = {"Authorization": f"Bearer {key}"}
    server.start()
    assert (
        httpx.get(f"{server.url}/v1/documents", headers=headers, timeout=300).json()["items"] == []
    )  # models up
    book = api_settings.corpus_dir / "cooke_great_pianists_on_piano_playing.txt"  # ~65k words: long to embed
    done = threading.Event()

    def send() -> None:
        try:
            httpx.post(
                f"{server.url}/v1/documents",
                headers=headers,
                timeout=600,
                files={"file": (book.name, book.read_bytes(), "text/plain")},
                data={"slug": "cooke"},
            )
        except httpx.HTTPError:
            pass
        done.set()

    threading.Thread(target=send, daemon=True).start()
    time.sleep(3.0)
    assert not done.is_set(), "indexing finished before the kill: use a longer document"
    server.kill()
    assert table_counts(api_settings, "documents", "chunks") == {"documents": 0, "chunks": 0}
    server.start()
    listed = httpx.get(f"{server.url}/v1/documents", headers=headers, timeout=300)
    assert listed.status_code == 200 and listed.json()["items"] == []
    assert files_under(api_settings.home / "uploads") == []
