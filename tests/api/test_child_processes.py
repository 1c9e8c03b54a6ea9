"""Issue 21, defect 1: no child process outlives Cadenza. A SIGKILL'd `cadenza serve` takes its llama.cpp
server with it, and a start-up stops a server left by a process that is gone, never one whose owner lives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from api.settings import Settings
from tests.api.test_api_server import Server


def processes_of_home(home: Path) -> list[int]:
    """Pids of the live processes whose environment names ``home`` as CADENZA_HOME."""
    needle = f"CADENZA_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in env and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.llm
def test_a_killed_server_takes_its_llm_server_with_it(settings: Settings, tmp_path: Path) -> None:
    server = Server(settings.model_copy(update={"home": tmp_path / "home"}), tmp_path / "serve.log")
    server.env.update({"CADENZA_AUTH_ENABLED": "false", "CADENZA_LLM_MAX_TOKENS": "8"})
    server.start()
    try:
        # One small document to retrieve from; then a tutor turn starts the llama.cpp server.
        text = (
            "Pedalling.\n\nLift the pedal at every change of harmony and listen for a clean bass line. " * 3
        )
        added = httpx.post(
            f"{server.url}/v1/documents",
            files={"file": ("pedal.txt", text.encode(), "text/plain")},
            data={"title": "Pedalling notes", "slug": "pedal-notes"},
            timeout=120,
        )
        assert added.status_code in (200, 201), added.text
        session = httpx.post(f"{server.url}/v1/sessions", json={}, timeout=30).json()
        reply = httpx.post(
            f"{server.url}/v1/sessions/{session['id']}/messages",
            json={"content": "How do I pedal?"},
            timeout=300,
        )
        assert reply.status_code == 200, reply.text
        assert server.process is not None
        children = [pid for pid in processes_of_home(tmp_path / "home") if pid != server.process.pid]
        assert children, "the llama.cpp server was not started"
        server.kill()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(
            pid in processes_of_home(tmp_path / "home") for pid in children
        ):
            time.sleep(0.2)
        left = [pid for pid in children if pid in processes_of_home(tmp_path / "home")]
        for pid in left:  # do not leak 2 GB into the next test
            os.kill(pid, 9)
        assert not left, "the llama.cpp server outlived the SIGKILL'd service"
    finally:
        server.stop()


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def _record(registry: Path, *, owner: int, owner_start: int | None, server: int) -> Path:
    from rag.generation.local_llm import process_start_time

    registry.mkdir(parents=True, exist_ok=True)
    path = registry / f"{server}.json"
    path.write_text(
        json.dumps(
            {
                "owner_pid": owner,
                "owner_start": owner_start,
                "server_pid": server,
                "server_start": process_start_time(server),
                "port": 1,
            }
        )
    )
    return path


def test_start_up_stops_a_server_whose_owner_is_gone_and_only_that(unit_settings: Settings) -> None:
    from rag.generation.local_llm import process_start_time, server_registry, stop_stale_servers

    config = unit_settings.generation_config()
    registry = server_registry(config)
    dead_owner = _sleeper()
    dead_owner.kill()
    dead_owner.wait()
    orphan, shared = _sleeper(), _sleeper()
    try:
        orphan_record = _record(registry, owner=dead_owner.pid, owner_start=12345, server=orphan.pid)
        # another worker or CLI sharing the data home: its server must be left alone
        shared_record = _record(
            registry, owner=os.getpid(), owner_start=process_start_time(os.getpid()), server=shared.pid
        )
        stopped = stop_stale_servers(config)
        assert stopped == [orphan.pid]
        assert orphan.wait(10) is not None and not orphan_record.exists()
        assert shared.poll() is None and shared_record.exists()
    finally:
        for proc in (orphan, shared):
            proc.kill()
            proc.wait()


def test_a_reused_server_pid_is_not_killed(unit_settings: Settings) -> None:
    """The record's server start time no longer matches: the pid belongs to another process now."""
    from rag.generation.local_llm import server_registry, stop_stale_servers

    config = unit_settings.generation_config()
    registry = server_registry(config)
    other = _sleeper()
    try:
        record = _record(registry, owner=999_999_999, owner_start=1, server=other.pid)
        data = json.loads(record.read_text())
        record.write_text(json.dumps({**data, "server_start": data["server_start"] - 1}))
        assert stop_stale_servers(config) == []
        assert other.poll() is None and not record.exists()
    finally:
        other.kill()
        other.wait()


def _pids_with(token: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and token.encode() in (entry / "cmdline").read_bytes():
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_killed_worker_takes_its_fluidsynth_render_with_it(tmp_path: Path) -> None:
    """Short-lived children (the fluidsynth render) die with the process that started them too."""
    token = f"cadenza-render-standin-{os.getpid()}"
    fake = tmp_path / "fluidsynth"
    fake.write_text(f"#!/bin/bash\nexec -a {token} sleep 60\n")  # findable by its argv[0]
    fake.chmod(0o755)
    soundfont = tmp_path / "font.sf2"
    soundfont.write_bytes(b"x")
    code = (
        "import sys; from pathlib import Path; from scorer.inference import render; "
        f"render._fluidsynth = lambda: {str(fake)!r}; render.render_midi_bytes(b'x', Path({str(soundfont)!r}))"
    )
    worker = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _pids_with(token):
            time.sleep(0.1)
        assert _pids_with(token), "the stand-in render did not start"
        worker.kill()
        worker.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _pids_with(token):
            time.sleep(0.1)
        left = _pids_with(token)
        for pid in left:
            os.kill(pid, 9)
        assert not left, "the render outlived the killed worker"
    finally:
        worker.kill()
        worker.wait()
