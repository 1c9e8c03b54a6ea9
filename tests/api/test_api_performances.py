"""Performances, feedback (JSON and SSE) and tutor sessions through HTTP with the real scorer, the real
retriever on two short books and the real feedback service. The LLM is the fault-injecting stand-in
server (tests/_llm_standin.py): answers, failures and slowness on demand. SQLite and Postgres."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.settings import Settings
from tests._llm_standin import StandIn
from tests.api_support import SMALL_BOOKS, Api, start_api, stored_uploads, upload_book

EXAMPLE = "data/percepiano/examples/Beethoven_WoO80_var27_8bars_3_15.wav"


@pytest.fixture(scope="module")
def standin() -> Iterator[StandIn]:
    server = StandIn()
    yield server
    server.close()


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory,
    shared_dir: Path,
    module_database_url: str | None,
    standin: StandIn,
    embedding_cache_dir: Path,
) -> Iterator[Api]:
    home = tmp_path_factory.mktemp("home")
    settings = Settings(
        home=home,
        shared_dir=shared_dir,
        database_url=module_database_url,
        rate_limit_per_minute=10_000,
        embedding_cache_dir=embedding_cache_dir,
        llm_model="openai/standin",
        llm_api_base=standin.api_base,
        llm_timeout_s=1.0,
    )
    for api in start_api(settings):
        for slug in SMALL_BOOKS:
            assert upload_book(api, slug).status_code == 201
        yield api


@pytest.fixture()
def llm(standin: StandIn) -> Iterator[StandIn]:
    standin.mode = "ok"
    standin.requests.clear()
    yield standin
    standin.mode = "ok"


def example_bytes(api: Api) -> bytes:
    return (api.settings.shared_dir / EXAMPLE).read_bytes()


def upload(
    api: Api,
    data: bytes,
    *,
    name: str = "take1.wav",
    ctype: str = "audio/wav",
    headers: dict[str, str] | None = None,
    **fields: str,
):  # type: ignore[no-untyped-def]
    return api.client.post(
        "/v1/performances", headers=headers or api.student, files={"file": (name, data, ctype)}, data=fields
    )


def wait_scored(api: Api, performance_id: str, headers: dict[str, str], timeout_s: float = 600) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = api.client.get(f"/v1/performances/{performance_id}", headers=headers).json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.5)
    raise AssertionError(f"performance {performance_id} not scored in {timeout_s} s")


@pytest.fixture(scope="module")
def scored(service: Api) -> dict:
    response = upload(
        service,
        example_bytes(service),
        name="C:\\Users\\me\\secret\\take1.wav",
        title="Variation 27",
        composer="Beethoven",
        piece="32 Variations WoO 80",
        level="advanced",
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    body = wait_scored(service, response.json()["id"], service.student)
    assert body["status"] == "done", body
    return body


def sse_events(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                data.append(line.split(":", 1)[1].strip())
        if name and data:
            events.append((name, json.loads("\n".join(data))))
    return events


def metric(api: Api, name: str) -> float:
    total = 0.0
    for line in api.client.get("/metrics").text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


# --- performances -------------------------------------------------------------------------------


def test_upload_is_scored_stored_by_hash_and_private(service: Api, scored: dict) -> None:
    report = scored["report"]
    assert len(report["dimensions"]) == 19 and 13 < report["duration_s"] < 16
    assert scored["filename"] == "take1.wav"  # base name only, for display
    assert scored["title"] == "Variation 27" and scored["level"] == "advanced"
    digest = hashlib.sha256(example_bytes(service)).hexdigest()
    stored = [p for p in stored_uploads(service.settings) if "staging" not in p.parts]
    assert [p.name for p in stored] == [f"{digest}.wav"]
    listed = service.client.get("/v1/performances", headers=service.student).json()["items"]
    assert [p["id"] for p in listed] == [scored["id"]] and "report" not in listed[0]
    assert service.client.get("/v1/performances", headers=service.other_student).json()["items"] == []
    for method, path in (("get", ""), ("delete", ""), ("get", "/feedback")):
        response = getattr(service.client, method)(
            f"/v1/performances/{scored['id']}{path}", headers=service.other_student
        )
        assert response.status_code == 404, (method, path)
    assert service.client.get(f"/v1/performances/{scored['id']}", headers=service.admin).status_code == 200
    assert service.client.get("/v1/performances/does-not-exist", headers=service.student).status_code == 404
    assert service.client.get(f"/v1/performances/{'x' * 500}", headers=service.student).status_code == 404
    assert metric(service, "cadenza_scoring_duration_seconds_count") >= 1


def _nothing_stored(service: Api, before: tuple[int, int, list[Path]]) -> None:
    assert (service.count("performances"), service.count("jobs"), stored_uploads(service.settings)) == before


@pytest.mark.parametrize(
    ("name", "make", "ctype", "status", "code"),
    [
        ("notes.txt", lambda wav: b"just some text, not audio", "text/plain", 415, "unsupported_media_type"),
        ("take.wav", lambda wav: wav[:3000], "audio/wav", 400, "invalid_input"),  # truncated WAV
        ("take.wav", lambda wav: b"", "audio/wav", 400, "invalid_input"),  # empty
        (
            "score.pdf",
            lambda wav: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n" * 50,
            "audio/wav",
            415,
            None,
        ),
    ],
)
def test_bad_uploads_are_refused_and_store_nothing(
    service: Api, scored: dict, name, make, ctype, status, code
) -> None:  # type: ignore[no-untyped-def]
    before = (service.count("performances"), service.count("jobs"), stored_uploads(service.settings))
    response = upload(service, make(example_bytes(service)), name=name, ctype=ctype)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "detail"} and error["message"]
    if code:
        assert error["code"] == code
    _nothing_stored(service, before)


def test_bar_times_sent_with_an_upload_number_the_weak_spots(service: Api, scored: dict) -> None:
    response = upload(service, example_bytes(service), bars="0.3,2.0,3.8,5.5,7.2,8.9,10.5,12.2")
    assert response.status_code == 202, response.text
    body = wait_scored(service, response.json()["id"], service.student)
    assert body["status"] == "done" and body["bar_times"][:2] == [0.3, 2.0]
    spots = body["report"]["weak_spots"]
    assert spots and all(s["bars"] and set(s["bars"]) <= set(range(1, 9)) for s in spots)
    assert all(not s["bars"] for s in scored["report"]["weak_spots"])  # none sent, none reported
    assert service.client.delete(f"/v1/performances/{body['id']}", headers=service.student).status_code == 204


SCORE = "data/percepiano/score_midi/Beethoven_WoO80_var27_8bars_Score_15.mid"


def upload_with_score(
    api: Api,
    score: bytes,
    *,
    name: str | None = "score.mid",
    ctype: str = "audio/midi",
    recording: bytes | None = None,
    **fields: str,
):  # type: ignore[no-untyped-def]
    return api.client.post(
        "/v1/performances",
        headers=api.student,
        data=fields,
        files=[
            ("file", ("take1.wav", recording or example_bytes(api), "audio/wav")),
            ("score", (name, score, ctype)),
        ],
    )


def tone_wav(seconds: float = 2.0, hz: float = 440.0) -> bytes:
    """A recording no other test uploads: a refused upload that stored it would show in the store."""
    import io

    import numpy as np
    import soundfile

    t = np.arange(int(22050 * seconds)) / 22050
    buffer = io.BytesIO()
    soundfile.write(buffer, (0.3 * np.sin(2 * np.pi * hz * t)).astype("float32"), 22050, format="WAV")
    return buffer.getvalue()


def test_a_score_sent_with_an_upload_gives_bars_and_score_aware_timing(service: Api, scored: dict) -> None:
    from scorer.inference.align import load_score
    from scorer.inference.service import Scorer

    score_file = service.settings.shared_dir / SCORE
    response = upload_with_score(service, score_file.read_bytes())
    assert response.status_code == 202, response.text
    body = wait_scored(service, response.json()["id"], service.student)
    assert body["status"] == "done", body
    assert body["score_filename"] == "score.mid"
    assert body["score_sha256"] == hashlib.sha256(score_file.read_bytes()).hexdigest()
    spots = body["report"]["weak_spots"]
    assert spots and all(s["bars"] and set(s["bars"]) <= set(range(1, 9)) for s in spots)
    assert body["report"]["score_following"]["followed"] and scored["report"]["score_following"] is None
    # the job judged timing against the score: the same report as the scorer given that score in-process
    direct = Scorer.load(service.settings.scorer_config()).score_path(
        service.settings.shared_dir / EXAMPLE, score=load_score(score_file)
    )
    timing = {r["name"]: r["score"] for r in body["report"]["dimensions"]}["timing_stability"]
    plain = {r["name"]: r["score"] for r in scored["report"]["dimensions"]}["timing_stability"]
    assert timing == pytest.approx(
        next(d.score for d in direct.dimensions if d.name == "timing_stability"), abs=1e-4
    )
    assert timing != pytest.approx(plain, abs=1e-4)
    stored = [p for p in stored_uploads(service.settings) if "scores" in p.parts]
    assert [p.name for p in stored] == [f"{body['score_sha256']}.mid"]
    twin = upload_with_score(service, score_file.read_bytes(), name="same-score.mid")
    assert twin.status_code == 202
    assert wait_scored(service, twin.json()["id"], service.student)["status"] == "done"
    assert [p for p in stored_uploads(service.settings) if "scores" in p.parts] == stored  # stored once
    assert service.client.delete(f"/v1/performances/{body['id']}", headers=service.student).status_code == 204
    assert stored[0].exists()  # the twin still uses it
    assert (
        service.client.delete(f"/v1/performances/{twin.json()['id']}", headers=service.student).status_code
        == 204
    )
    assert not stored[0].exists()  # gone with its last performance; the audio the first upload shares stays
    assert any("audio" in p.parts for p in stored_uploads(service.settings))


def test_a_failed_insert_keeps_the_files_other_performances_share(
    service: Api, scored: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection: the insert fails (a clashing id) after the recording and score were moved to their
    stored names; the recording another performance uses must stay, the new score must go."""
    import api.routes.performances as route

    audio = [p for p in stored_uploads(service.settings) if "audio" in p.parts]
    before = service.count("performances")
    monkeypatch.setattr(route, "new_id", lambda: scored["id"])  # primary key taken: the insert fails
    response = upload_with_score(service, (service.settings.shared_dir / SCORE).read_bytes())
    assert response.status_code >= 500 and service.count("performances") == before
    assert audio and all(p.exists() for p in audio)
    assert not [p for p in stored_uploads(service.settings) if "scores" in p.parts or "staging" in p.parts]


def test_an_empty_score_input_is_no_score(service: Api, scored: dict) -> None:
    """A plain HTML form whose score input was left empty sends an empty part without a file name."""
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="take1.wav"\r\n'
        b"Content-Type: audio/wav\r\n\r\n" + example_bytes(service) + b"\r\n"
        b'--b\r\nContent-Disposition: form-data; name="score"; filename=""\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\r\n--b--\r\n"
    )  # what a browser sends
    response = service.client.post(
        "/v1/performances",
        content=body,
        headers={**service.student, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 202, response.text
    body = wait_scored(service, response.json()["id"], service.student)
    assert body["status"] == "done" and body["score_sha256"] is None
    assert not [p for p in stored_uploads(service.settings) if "scores" in p.parts or "staging" in p.parts]
    assert service.client.delete(f"/v1/performances/{body['id']}", headers=service.student).status_code == 204


def test_a_recording_too_long_to_align_is_scored_without_its_score(
    service: Api, scored: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The score is optional: when recording and score are too long to align, the job still scores (the
    limit is lowered here to make the example "too long")."""
    import scorer.inference.align

    monkeypatch.setattr(scorer.inference.align, "MAX_DTW_CELLS", 10)
    response = upload_with_score(service, (service.settings.shared_dir / SCORE).read_bytes())
    assert response.status_code == 202, response.text
    body = wait_scored(service, response.json()["id"], service.student)
    assert body["status"] == "done", body
    assert body["report"]["dimensions"] == scored["report"]["dimensions"]  # the plain scores, no score timing
    assert all(not s["bars"] for s in body["report"]["weak_spots"])
    assert service.client.delete(f"/v1/performances/{body['id']}", headers=service.student).status_code == 204


def _midi_without_notes() -> bytes:
    import io

    import pretty_midi

    midi = pretty_midi.PrettyMIDI()
    midi.instruments.append(pretty_midi.Instrument(0))
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("score", "status", "message"),
    [
        # messages name the score as sent (score.mid); every kind of bad score: tests/api/test_score_files_api.py
        (b"just text", 415, "score.mid: not a score file"),
        (b"", 400, "score.mid: the score file is empty"),
        (b"MThd\x00\x00\x00\x06garbage", 400, "score.mid: unreadable score MIDI"),
        (_midi_without_notes(), 400, "score.mid: the score MIDI has no notes"),
    ],
)
def test_bad_scores_are_refused_and_store_nothing(
    service: Api, scored: dict, score: bytes, status: int, message: str
) -> None:
    before = (service.count("performances"), service.count("jobs"), stored_uploads(service.settings))
    response = upload_with_score(service, score, recording=tone_wav())
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"].startswith(message)
    _nothing_stored(service, before)


def test_score_over_its_limit_or_twice_is_refused(service: Api, scored: dict) -> None:
    before = (service.count("performances"), service.count("jobs"), stored_uploads(service.settings))
    big = b"MThd" + b"\x00" * (service.settings.score_upload_max_bytes + 1)
    assert upload_with_score(service, big, recording=tone_wav()).status_code == 413
    score = (service.settings.shared_dir / SCORE).read_bytes()
    twice = service.client.post(
        "/v1/performances",
        headers=service.student,
        files=[
            ("file", ("take1.wav", tone_wav(), "audio/wav")),
            ("score", ("a.mid", score, "audio/midi")),
            ("score", ("b.mid", score, "audio/midi")),
        ],
    )
    assert twice.status_code == 400 and "at most one 'score'" in twice.json()["error"]["message"]
    as_text = upload(service, example_bytes(service), score="0,2,4")
    assert as_text.status_code == 400 and "as a file part" in as_text.json()["error"]["message"]
    _nothing_stored(service, before)


def test_silent_recording_is_accepted_then_fails_with_a_reason(service: Api, scored: dict) -> None:
    """The upload check is fast (format, duration); silence is found by the scorer, in the job."""
    import io

    import numpy as np
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(44100 * 3, dtype="float32"), 44100, format="WAV")
    response = upload(service, buffer.getvalue(), name="silence.wav")
    assert response.status_code == 202
    body = wait_scored(service, response.json()["id"], service.student)
    assert body["status"] == "failed" and body["error"] and body["report"] is None
    assert (
        service.client.post(
            "/v1/feedback", headers=service.student, json={"performance_id": body["id"]}
        ).status_code
        == 409
    )
    assert service.client.delete(f"/v1/performances/{body['id']}", headers=service.student).status_code == 204


def test_malformed_requests_store_nothing(service: Api, scored: dict) -> None:
    before = (service.count("performances"), service.count("jobs"), stored_uploads(service.settings))
    client = service.client
    not_multipart = client.post(
        "/v1/performances",
        headers={**service.student, "Content-Type": "audio/wav"},
        content=example_bytes(service)[:1000],
    )
    assert not_multipart.status_code == 415
    no_boundary = client.post(
        "/v1/performances",
        headers={**service.student, "Content-Type": "multipart/form-data"},
        content=b"--x\r\n",
    )
    assert no_boundary.status_code == 400
    cut = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'
        + example_bytes(service)[:5000]
    )  # the body ends inside the file part
    truncated = client.post(
        "/v1/performances",
        content=cut,
        headers={**service.student, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert truncated.status_code == 400
    missing_file = client.post("/v1/performances", headers=service.student, files={"title": (None, "x")})
    assert missing_file.status_code == 400
    too_long = upload(service, example_bytes(service), title="x" * 400)
    assert too_long.status_code == 400
    for bars in ("0,4,2", "0,two,4", "0,nan"):
        bad_bars = upload(service, example_bytes(service), bars=bars)
        assert bad_bars.status_code == 400 and "bars must be" in bad_bars.json()["error"]["message"], bars
    assert client.post("/v1/performances", files={"file": ("a.wav", b"RIFF", "audio/wav")}).status_code == 401
    bad_key = upload(service, b"RIFF", headers={"Authorization": "Bearer nope"})
    assert bad_key.status_code == 401
    _nothing_stored(service, before)


def test_60_mb_upload_over_the_limit_is_refused_while_streaming(service: Api, scored: dict) -> None:
    state = service.app.state.cadenza
    state.settings = service.settings.model_copy(update={"upload_max_bytes": 50 * 1024 * 1024})
    before = (service.count("performances"), service.count("jobs"), stored_uploads(service.settings))
    big = example_bytes(service)[:44] + b"\x01\x02" * (30 * 1024 * 1024)  # 60 MB
    try:
        # Declared size first (refused before reading), then chunked (refused at the first byte over).
        declared = upload(service, big)
        assert declared.status_code == 413 and declared.json()["error"]["code"] == "too_large"

        def chunks() -> Iterator[bytes]:
            yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n\r\n'
            for start in range(0, len(big), 1 << 20):
                yield big[start : start + (1 << 20)]
            yield b"\r\n--b--\r\n"

        streamed = service.client.post(
            "/v1/performances",
            content=chunks(),
            headers={**service.student, "Content-Type": "multipart/form-data; boundary=b"},
        )
        assert streamed.status_code == 413
    finally:
        state.settings = service.settings
    _nothing_stored(service, before)


# --- feedback -----------------------------------------------------------------------------------


def test_feedback_for_a_performance_is_stored_and_listed(service: Api, scored: dict, llm: StandIn) -> None:
    response = service.client.post(
        "/v1/feedback", headers=service.student, json={"performance_id": scored["id"]}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["performance_id"] == scored["id"] and body["id"]
    assert body["performance"]["duration_s"] == scored["report"]["duration_s"]
    feedback = body["feedback"]
    assert feedback["generator"] == "llm" and feedback["citations"]
    assert {c["chunk_id"].split("#")[0].split(":")[0] for c in feedback["citations"]} and all(
        c["title"] for c in feedback["citations"]
    )
    assert "total" in body["latency_ms"]
    prompt = llm.requests[-1]["messages"][-1]["content"]
    assert "Beethoven" in prompt  # the performance's composer reached the prompt
    stored = service.client.get(f"/v1/performances/{scored['id']}/feedback", headers=service.student).json()
    assert [f["id"] for f in stored["items"]] == [body["id"]]
    assert stored["items"][0]["feedback"]["text"] == feedback["text"]


def test_feedback_from_posted_scores_is_not_stored(service: Api, scored: dict, llm: StandIn) -> None:
    n = service.count("feedback")
    response = service.client.post(
        "/v1/feedback", headers=service.other_student, json={"scores": scored["report"], "piece": "Nocturne"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["id"] is None and response.json()["feedback"]["citations"]
    assert service.count("feedback") == n


def test_feedback_request_errors(service: Api, scored: dict) -> None:
    post = service.client.post
    h = service.student
    cases = [
        (dict(json={}), 422),
        (dict(json={"performance_id": scored["id"], "scores": scored["report"]}), 422),
        (dict(json={"scores": {"duration_s": "long"}}), 422),
        (dict(json={"performance_id": 5}), 422),
        (dict(json={"performance_id": scored["id"], "extra": 1}), 422),
        (dict(content=b'{"performance_id": ', headers={**h, "Content-Type": "application/json"}), 400),
        (dict(json={"performance_id": "unknown"}), 404),
    ]
    n = service.count("feedback")
    for kwargs, status in cases:
        kwargs.setdefault("headers", h)
        response = post("/v1/feedback", **kwargs)
        assert response.status_code == status, (kwargs, response.text)
        assert set(response.json()["error"]) == {"code", "message", "detail"}
    other = post("/v1/feedback", headers=service.other_student, json={"performance_id": scored["id"]})
    assert other.status_code == 404
    assert post("/v1/feedback", json={"performance_id": scored["id"]}).status_code == 401
    assert service.count("feedback") == n


def test_feedback_stream_ends_with_the_checked_answer(service: Api, scored: dict, llm: StandIn) -> None:
    llm.answer = "Lift the pedal at each harmony change [1]. Keep the pulse steady [2][9]."
    n = service.count("feedback")
    response = service.client.post(
        "/v1/feedback",
        json={"performance_id": scored["id"]},
        headers={**service.student, "Accept": "text/event-stream"},
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert names[0] == "start" and names[-1] == "done" and "delta" in names
    draft = "".join(data["text"] for name, data in events if name == "delta")
    assert draft == llm.answer
    done = events[-1][1]
    assert done["feedback"]["invalid_markers"] == ["[9]"] and "[9]" not in done["feedback"]["text"]
    assert done["id"] and service.count("feedback") == n + 1


def test_llm_failures_fall_back_and_are_counted(service: Api, scored: dict, llm: StandIn) -> None:
    fallbacks = metric(service, "cadenza_feedback_fallback_total")
    failures = metric(service, "cadenza_llm_failures_total")
    for mode in ("error", "slow"):  # server error; slower than llm_timeout_s
        llm.mode = mode
        start = time.monotonic()
        response = service.client.post(
            "/v1/feedback", headers=service.student, json={"scores": scored["report"]}
        )
        assert response.status_code == 200, response.text
        feedback = response.json()["feedback"]
        assert feedback["generator"] == "fallback" and feedback["llm_error"] and feedback["citations"]
        assert time.monotonic() - start < 30
    llm.mode = "error"
    streamed = service.client.post(
        "/v1/feedback",
        json={"scores": scored["report"]},
        headers={**service.student, "Accept": "text/event-stream"},
    )
    names = [name for name, _ in sse_events(streamed.text)]
    assert names[0] == "start" and "error" in names and names[-1] == "done"
    assert sse_events(streamed.text)[-1][1]["feedback"]["generator"] == "fallback"
    assert metric(service, "cadenza_feedback_fallback_total") == fallbacks + 3
    assert metric(service, "cadenza_llm_failures_total") == failures + 3


def test_llm_server_down_falls_back(service: Api, scored: dict) -> None:
    from rag.job import FeedbackJob

    components = service.app.state.cadenza.components
    working = components.feedback()
    down = service.settings.model_copy(update={"llm_api_base": "http://127.0.0.1:9/v1"})  # nothing listens
    components._feedback = FeedbackJob(down.generation_config(), components.retriever)
    try:
        response = service.client.post(
            "/v1/feedback", headers=service.student, json={"scores": scored["report"]}
        )
    finally:
        components._feedback = working
    assert response.status_code == 200
    assert response.json()["feedback"]["generator"] == "fallback"


# --- tutor sessions -----------------------------------------------------------------------------


def test_tutor_session_json_and_stream(service: Api, scored: dict, llm: StandIn) -> None:
    client, h = service.client, service.student
    created = client.post("/v1/sessions", headers=h, json={"performance_id": scored["id"]})
    assert created.status_code == 201
    session_id = created.json()["id"]
    reply = client.post(
        f"/v1/sessions/{session_id}/messages",
        headers=h,
        json={"content": "How should I pedal the slow variation?"},
    )
    assert reply.status_code == 200, reply.text
    message = reply.json()["message"]
    assert message["role"] == "assistant" and message["citations"] and message["seq"] == 2
    prompt = json.dumps(llm.requests[-1]["messages"])
    assert "How should I pedal" in prompt
    streamed = client.post(
        f"/v1/sessions/{session_id}/messages",
        json={"content": "And the left hand?"},
        headers={**h, "Accept": "text/event-stream"},
    )
    events = sse_events(streamed.text)
    assert events[0][0] == "start" and events[-1][0] == "done"
    assert events[-1][1]["message"]["seq"] == 4
    assert "How should I pedal" in json.dumps(llm.requests[-1]["messages"])  # history reached the model
    history = client.get(f"/v1/sessions/{session_id}", headers=h).json()
    assert [m["role"] for m in history["messages"]] == ["user", "assistant", "user", "assistant"]
    assert history["messages"][0]["content"] == "How should I pedal the slow variation?"
    assert all(m["citations"] for m in history["messages"] if m["role"] == "assistant")
    for bad in ({"content": ""}, {}, {"content": "x" * 5000}, {"content": 3}):
        assert client.post(f"/v1/sessions/{session_id}/messages", headers=h, json=bad).status_code == 422
    assert client.post("/v1/sessions/unknown/messages", headers=h, json={"content": "hi"}).status_code == 404
    llm.mode = "error"
    fallback = client.post(f"/v1/sessions/{session_id}/messages", headers=h, json={"content": "Scales?"})
    assert fallback.status_code == 200 and fallback.json()["feedback"]["generator"] == "fallback"
    assert client.delete(f"/v1/sessions/{session_id}", headers=h).status_code == 204
    assert service.count("messages") == 0


# --- deletion (last: it removes the scored performance) -----------------------------------------


def test_delete_removes_performance_feedback_and_audio(service: Api, scored: dict, llm: StandIn) -> None:
    client, h = service.client, service.student
    twin = upload(service, example_bytes(service), name="again.wav")
    assert twin.status_code == 202
    twin_id = twin.json()["id"]
    audio = [p for p in stored_uploads(service.settings) if "staging" not in p.parts]
    assert len(audio) == 1  # same bytes, one stored file
    session_id = client.post("/v1/sessions", headers=h, json={"performance_id": scored["id"]}).json()["id"]
    assert client.delete(f"/v1/performances/{twin_id}", headers=h).status_code == 204
    assert audio[0].exists()  # still used by the first performance
    assert service.count("feedback") >= 1
    assert client.delete(f"/v1/performances/{scored['id']}", headers=h).status_code == 204
    assert not audio[0].exists()
    assert (service.count("performances"), service.count("jobs"), service.count("feedback")) == (0, 0, 0)
    assert client.get(f"/v1/performances/{scored['id']}/feedback", headers=h).status_code == 404
    assert client.delete(f"/v1/performances/{scored['id']}", headers=h).status_code == 404
    assert client.get(f"/v1/sessions/{session_id}", headers=h).json()["performance_id"] is None
