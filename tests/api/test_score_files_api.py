"""Scores through the REST upload (issue 17): MIDI, MusicXML and .mxl beside a recording, every bad score kind
refused with its status and a JSON message while nothing is stored, the note-level report (note_errors, bars,
curves, score following) of a real PercePiano performance and of a hand-written MusicXML score, and the
playback of a MIDI upload rendered on the server. Real scorer, SQLite and Postgres."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api_support import Api, start_module_api, stored_uploads, wait_scored

REPO = Path(__file__).resolve().parents[2]
BAD = REPO / "tests" / "data" / "bad_scores"
MINUET = REPO / "tests" / "data" / "scores" / "minuet.musicxml"
PIECE = "Beethoven_WoO80_var8_8bars"
PERFORMANCE = f"data/percepiano/performance_midi/{PIECE}_2_6.mid"
SCORE = f"data/percepiano/score_midi/{PIECE}_Score_6.mid"
SCORE_LIMIT = 512 * 1024


def _expected_statuses() -> dict[str, int]:
    spec = importlib.util.spec_from_file_location("make_bad_scores", BAD / "make_bad_scores.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.EXPECTED)


BAD_SCORES = _expected_statuses()


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, shared_dir: Path, module_database_url: str | None
) -> Iterator[Api]:
    yield from start_module_api(
        tmp_path_factory, shared_dir, module_database_url, score_upload_max_bytes=SCORE_LIMIT
    )


def _midi_bytes(midi) -> bytes:  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


def shifted_performance(path: Path, start: float = 0.40, end: float = 0.55) -> bytes:
    """The issue's acceptance case: every note between 40% and 55% of the performance a semitone higher."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(str(path))
    length = midi.get_end_time()
    for instrument in midi.instruments:
        for note in instrument.notes:
            if start * length <= note.start <= end * length:
                note.pitch += 1
    return _midi_bytes(midi)


def tone_wav(seconds: float = 1.5, hz: float = 330.0) -> bytes:
    """A recording no other test uploads: a refused upload that stored it would show in the store."""
    import numpy as np
    import soundfile

    t = np.arange(int(22050 * seconds)) / 22050
    buffer = io.BytesIO()
    soundfile.write(buffer, (0.3 * np.sin(2 * np.pi * hz * t)).astype("float32"), 22050, format="WAV")
    return buffer.getvalue()


def post(api: Api, recording: tuple[str, bytes, str], score: tuple[str, bytes, str]):  # type: ignore[no-untyped-def]
    return api.client.post(
        "/v1/performances", headers=api.student, files=[("file", recording), ("score", score)]
    )


def _state(api: Api) -> tuple[int, int, list[Path]]:
    return api.count("performances"), api.count("jobs"), stored_uploads(api.settings)


def mxl(xml: bytes, member: str = "score.musicxml") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "META-INF/container.xml",
            f'<?xml version="1.0"?><container><rootfiles><rootfile full-path="{member}" '
            'media-type="application/vnd.recordare.musicxml+xml"/></rootfiles></container>',
        )
        archive.writestr(member, xml)
    return buffer.getvalue()


@pytest.mark.parametrize("name", sorted(BAD_SCORES))
def test_each_bad_score_is_refused_with_a_json_message_and_nothing_stored(service: Api, name: str) -> None:
    before = _state(service)
    response = post(
        service, ("take.wav", tone_wav(), "audio/wav"), (f"my {name}", (BAD / name).read_bytes(), "text/xml")
    )
    assert response.status_code == BAD_SCORES[name], response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "detail"}
    assert error["code"] == ("unsupported_media_type" if BAD_SCORES[name] == 415 else "invalid_input")
    assert error["message"].startswith(f"my {name}: ") and "\n" not in error["message"]
    assert _state(service) == before  # no row, no job, no file (not even in staging)


def test_a_score_over_the_limit_is_413_and_nothing_stored(service: Api) -> None:
    before = _state(service)
    big = MINUET.read_bytes().replace(b"<work>", b"<work>" + b" " * (SCORE_LIMIT + 1), 1)
    response = post(service, ("take.wav", tone_wav(), "audio/wav"), ("big.musicxml", big, "text/xml"))
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"
    assert response.json()["error"]["detail"] == {"limit_bytes": SCORE_LIMIT}
    assert _state(service) == before


def _check_note_report(report: dict) -> None:
    """What the REST report carries with a score: the contract's keys, as JSON."""
    following = report["score_following"]
    assert following["followed"] and following["passes"] and following["restarts"] >= 0
    first, last = following["bars_covered"]
    assert first <= last
    assert report["bars"] and report["curves"]["tempo"] and report["curves"]["loudness"]
    for bar in report["bars"]:
        assert "pass" in bar and "pass_" not in bar and bar["pass"] >= 1
        assert first <= bar["bar"] <= last and bar["start_s"] < bar["end_s"]
    assert isinstance(report["note_errors"], list)
    for error in report["note_errors"]:
        assert set(error) == {
            "type", "bar", "beat", "time_s", "expected_pitch", "played_pitch", "pass", "expected_name", "played_name"
        }  # fmt: skip
        # names spelled for the score's key, present exactly where there is a pitch
        assert (error["expected_name"] is None) == (error["expected_pitch"] is None)
        assert (error["played_name"] is None) == (error["played_pitch"] is None)


def test_percepiano_midi_with_its_score_midi_names_the_wrong_notes_and_plays_back(
    service: Api, shared_dir: Path
) -> None:
    """The issue's acceptance case through REST: notes between 40% and 55% a semitone high."""
    performance = shifted_performance(shared_dir / PERFORMANCE)
    score = (shared_dir / SCORE).read_bytes()
    response = post(service, ("take.mid", performance, "audio/midi"), ("score.mid", score, "audio/midi"))
    assert response.status_code == 202, response.text
    body = wait_scored(service, response.json()["id"])
    report = body["report"]
    _check_note_report(report)
    wrong = [e for e in report["note_errors"] if e["type"] == "wrong"]
    moved = [e for e in wrong if e["played_pitch"] == e["expected_pitch"] + 1]
    assert len(moved) >= 40  # 58 notes moved (the performer's own slips may add a few other errors)
    duration = report["duration_s"]
    inside = [e for e in moved if 0.35 * duration <= e["time_s"] <= 0.6 * duration]
    assert len(inside) >= 0.9 * len(moved)
    flagged = {b["bar"] for b in report["bars"] if "wrong_notes" in b["flags"]}
    assert {4, 5} <= flagged <= {e["bar"] for e in wrong}
    assert body["score_sha256"] == hashlib.sha256(score).hexdigest()
    assert [p.suffix for p in stored_uploads(service.settings) if "scores" in p.parts] == [".mid"]

    # the MIDI upload plays back as the server's render (the page seeks it to a bar)
    audio = service.client.get(f"/v1/performances/{body['id']}/audio", headers=service.student)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    import soundfile

    samples, rate = soundfile.read(io.BytesIO(audio.content))
    assert abs(len(samples) / rate - duration) < 2.0 and abs(samples).max() > 0.1
    other = service.client.get(f"/v1/performances/{body['id']}/audio", headers=service.other_student)
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"
    renders = [p for p in stored_uploads(service.settings) if "renders" in p.parts]
    assert [p.name for p in renders] == [
        f"{hashlib.sha256(performance).hexdigest()}.wav"
    ]  # rendered once, kept by hash
    again = service.client.get(f"/v1/performances/{body['id']}/audio", headers=service.student)
    assert again.content == audio.content
    assert service.client.delete(f"/v1/performances/{body['id']}", headers=service.student).status_code == 204
    assert not [p for p in stored_uploads(service.settings) if "renders" in p.parts]  # gone with the MIDI


def test_a_hand_written_musicxml_score_and_the_same_as_mxl(service: Api, tmp_path: Path) -> None:
    """tests/data/scores/minuet.musicxml (pickup bar 0, repeat, F#) played as notated (partitura's MIDI of it):
    bars numbered as printed, no note errors; the .mxl of the same score gives the same bars."""
    import warnings

    import partitura

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # partitura narrates its work through warnings
        notated = partitura.load_musicxml(str(MINUET))
        played = tmp_path / "minuet.mid"
        partitura.save_score_midi(notated, str(played))
    xml = MINUET.read_bytes()
    reports = []
    for name, data in (("minuet.musicxml", xml), ("minuet.mxl", mxl(xml))):
        response = post(
            service, ("minuet.mid", played.read_bytes(), "audio/midi"), (name, data, "application/xml")
        )
        assert response.status_code == 202, response.text
        body = wait_scored(service, response.json()["id"])
        assert body["score_filename"] == name
        _check_note_report(body["report"])
        reports.append(body)
    stored = sorted(p.suffix for p in stored_uploads(service.settings) if "scores" in p.parts)
    assert stored == [".musicxml", ".mxl"]  # each kept in its own format, named by its hash
    xml_report, mxl_report = (b["report"] for b in reports)
    assert [(b["bar"], b["pass"]) for b in xml_report["bars"]] == [
        (b["bar"], b["pass"]) for b in mxl_report["bars"]
    ]
    assert xml_report["note_errors"] == mxl_report["note_errors"]
    bars = {b["bar"] for b in xml_report["bars"]}
    assert 0 in bars and 1 in bars  # the pickup keeps its printed number 0
    wrong = [e for e in xml_report["note_errors"] if e["type"] == "wrong"]
    assert not wrong, wrong  # played exactly as written
    for body in reports:
        assert (
            service.client.delete(f"/v1/performances/{body['id']}", headers=service.student).status_code
            == 204
        )
    assert not [p for p in stored_uploads(service.settings) if "scores" in p.parts]
