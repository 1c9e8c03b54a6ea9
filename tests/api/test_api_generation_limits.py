"""Issue 21, defect 2: a generation stops when its client leaves (SSE and plain JSON), and concurrent generations
are bounded per key and in total (429 with Retry-After). A real `uvicorn` on loopback, so that a client's
disconnect reaches the app, and the LLM stand-in streaming slowly (tests/_llm_standin.py `slow_stream`)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from api.app import create_app
from api.auth import create_key
from api.settings import Settings
from tests._feedback_support import make_report
from tests._llm_standin import StandIn

DOCUMENT = (
    "Pedalling.\n\nLift the pedal at every change of harmony and listen for a clean bass line. "
    "Count the beats steadily and practise slowly with the metronome. "
) * 4


@dataclass
class Live:
    url: str
    state: Any
    keys: list[dict[str, str]]
    standin: StandIn


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, shared_dir: Path, embedding_cache_dir: Path
) -> Iterator[Live]:
    standin = StandIn()
    settings = Settings(
        home=tmp_path_factory.mktemp("home"),
        shared_dir=shared_dir,
        rate_limit_per_minute=10_000,
        embedding_cache_dir=embedding_cache_dir,
        llm_model="openai/standin",
        llm_api_base=standin.api_base,
        llm_timeout_s=120.0,
        llm_retries=0,
        max_generations=2,
        max_generations_per_key=1,
    )
    app = create_app(settings)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    state = app.state.cadenza
    keys = []
    for role in ("admin", "student", "student", "student"):
        with state.db.session() as session:
            keys.append({"Authorization": f"Bearer {create_key(session, role=role)[1]}"})
    url = f"http://127.0.0.1:{port}"
    added = httpx.post(
        f"{url}/v1/documents",
        headers=keys[0],
        timeout=300,
        files={"file": ("pedal.txt", DOCUMENT.encode(), "text/plain")},
        data={"title": "Pedalling notes", "slug": "pedal-notes"},
    )
    assert added.status_code == 201, added.text
    yield Live(url, state, keys[1:], standin)
    server.should_exit = True
    thread.join(30)
    standin.close()


@pytest.fixture()
def slow(live: Live) -> Iterator[StandIn]:
    standin = live.standin
    standin.mode = "slow_stream"
    standin.stream_started.clear()
    standin.client_closed.clear()
    standin.closed_at = None
    yield standin
    standin.mode = "ok"
    deadline = time.monotonic() + 30  # the next test starts with every slot free
    while live.state.generations.running() and time.monotonic() < deadline:
        time.sleep(0.1)


def _feedback_body() -> dict:
    return {"scores": make_report({"pedal_clarity": 0.28}).model_dump(mode="json"), "piece": "Nocturne"}


@dataclass
class Held:
    """An SSE answer being read. Keep the line iterator: dropping it mid-stream closes the connection."""

    response: httpx.Response
    lines: Iterator[str]

    def close(self) -> None:
        self.response.close()


def _open_stream(client: httpx.Client, live: Live, key: dict[str, str], route: str) -> Held:
    """Start an SSE answer on ``route`` ('feedback' or 'tutor') and read up to its first draft text."""
    if route == "feedback":
        request = client.build_request(
            "POST",
            f"{live.url}/v1/feedback",
            json=_feedback_body(),
            headers={**key, "Accept": "text/event-stream"},
        )
    else:
        session = client.post(f"{live.url}/v1/sessions", headers=key, json={}).json()
        request = client.build_request(
            "POST",
            f"{live.url}/v1/sessions/{session['id']}/messages",
            json={"content": "How do I pedal?"},
            headers={**key, "Accept": "text/event-stream"},
        )
    response = client.send(request, stream=True)
    assert response.status_code == 200, response.read()
    lines = response.iter_lines()
    for line in lines:
        if line.startswith("event:") and "delta" in line:
            return Held(response, lines)
    raise AssertionError("the stream ended before any draft text")


@pytest.mark.parametrize("route", ["feedback", "tutor"])
def test_a_client_leaving_a_stream_stops_the_generation(live: Live, slow: StandIn, route: str) -> None:
    with httpx.Client(timeout=60) as client:
        held = _open_stream(client, live, live.keys[0], route)
        left = time.monotonic()
        held.close()
    assert slow.client_closed.wait(3), "the LLM went on generating after the client left"
    assert slow.closed_at is not None and slow.closed_at - left < 3
    deadline = time.monotonic() + 5
    while live.state.generations.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live.state.generations.running() == 0


def test_a_client_leaving_a_json_answer_stops_the_generation(live: Live, slow: StandIn) -> None:
    body = json.dumps(_feedback_body()).encode()
    head = (
        f"POST /v1/feedback HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: {live.keys[0]['Authorization']}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    host, port = live.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(head + body)
        assert slow.stream_started.wait(60), "the LLM was not asked"
        left = time.monotonic()
    assert slow.client_closed.wait(3), "the LLM went on generating after the client left"
    assert slow.closed_at is not None and slow.closed_at - left < 3


def _assert_429(response: httpx.Response, limit: str) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["Retry-After"]) > 0
    error = response.json()["error"]
    assert error["code"] == "rate_limited" and error["message"] and error["detail"] == {"limit": limit}


def test_concurrent_generations_are_limited_per_key_and_in_total(live: Live, slow: StandIn) -> None:
    first, second, third = live.keys
    with httpx.Client(timeout=60) as client:
        held = _open_stream(client, live, first, "feedback")  # first key: 1 of its 1, 1 of 2 in all
        try:
            _assert_429(
                client.post(f"{live.url}/v1/feedback", json=_feedback_body(), headers=first),
                "max_generations_per_key",
            )
            session = client.post(f"{live.url}/v1/sessions", headers=first, json={}).json()
            _assert_429(
                client.post(
                    f"{live.url}/v1/sessions/{session['id']}/messages",
                    headers=first,
                    json={"content": "And the left hand?"},
                ),
                "max_generations_per_key",
            )
            also_held = _open_stream(client, live, second, "tutor")  # 2 of 2 in all
            try:
                _assert_429(
                    client.post(f"{live.url}/v1/feedback", json=_feedback_body(), headers=third),
                    "max_generations",
                )
            finally:
                also_held.close()
        finally:
            held.close()
    deadline = time.monotonic() + 10
    while live.state.generations.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    slow.mode = "ok"  # the slots are free again
    answered = httpx.post(f"{live.url}/v1/feedback", json=_feedback_body(), headers=first, timeout=60)
    assert answered.status_code == 200, answered.text
