"""The student's earlier take of a piece in the REST report (issue 18): the same owner's second take of a
passage with the same score is compared with the first (``compared_with``); another owner's take, a take of
another score, and a take without score or piece name are not; without a score the piece name decides
(case and spaces ignored), and an earlier report that cannot be read is skipped without failing the upload.
Real scorer, real PercePiano MIDI, SQLite and Postgres."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from api.db_models import Performance
from tests.api_support import Api, start_module_api, wait_scored

VAR8 = "data/percepiano/{}/Beethoven_WoO80_var8_8bars_{}.mid"
THEMA = "data/percepiano/{}/Beethoven_WoO80_thema_8bars_{}.mid"


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, shared_dir: Path, module_database_url: str | None
) -> Iterator[Api]:
    yield from start_module_api(tmp_path_factory, shared_dir, module_database_url)


def _file(api: Api, relative: str) -> tuple[str, bytes, str]:
    path = api.settings.shared_dir / relative
    return path.name, path.read_bytes(), "audio/midi"


def _take(
    api: Api,
    headers: dict[str, str],
    recording: str,
    *,
    score: str | None = None,
    piece: str | None = None,
) -> dict:
    """Upload one take, wait until it is scored, return the performance (its report included)."""
    files = [("file", _file(api, recording))]
    if score is not None:
        files.append(("score", _file(api, score)))
    data = {"piece": piece} if piece is not None else {}
    response = api.client.post("/v1/performances", headers=headers, files=files, data=data)
    assert response.status_code == 202, response.text
    return wait_scored(api, response.json()["id"], headers)


def test_same_owner_same_score_is_compared_other_owner_and_other_score_are_not(service: Api) -> None:
    score = VAR8.format("score_midi", "Score_6")
    first = _take(service, service.student, VAR8.format("performance_midi", "1_6"), score=score)
    assert first["report"]["compared_with"] is None  # nothing earlier

    second = _take(service, service.student, VAR8.format("performance_midi", "2_6"), score=score)
    assert second["report"]["compared_with"] == first["id"]

    # another student's take of the same score: never compared with someone else's playing
    other = _take(service, service.other_student, VAR8.format("performance_midi", "1_6"), score=score)
    assert other["report"]["compared_with"] is None

    # the same student, another piece's score: no comparison
    thema = _take(
        service,
        service.student,
        THEMA.format("performance_midi", "11_1"),
        score=THEMA.format("score_midi", "Score_1"),
    )
    assert thema["report"]["compared_with"] is None

    # a third take of var. 8 is compared with the most recent earlier one, not the first
    third = _take(service, service.student, VAR8.format("performance_midi", "1_6"), score=score)
    assert third["report"]["compared_with"] == second["id"]


def test_without_a_score_the_piece_name_decides_and_an_unreadable_report_is_skipped(service: Api) -> None:
    recording = VAR8.format("performance_midi", "2_6")
    nameless = _take(service, service.student, recording)
    assert nameless["report"]["compared_with"] is None
    first = _take(service, service.student, recording, piece="WoO 80 var. 8")
    assert first["report"]["compared_with"] is None  # the nameless take is not "the same piece"
    second = _take(service, service.student, recording, piece="  woo 80 VAR. 8 ")
    assert second["report"]["compared_with"] == first["id"]
    nameless_again = _take(service, service.student, recording)
    assert nameless_again["report"]["compared_with"] is None

    # the newest earlier report is broken (an older scorer's, say): it is skipped, the next one is used
    with service.state.db.session() as session:
        session.execute(
            update(Performance).where(Performance.id == second["id"]).values(report={"dimensions": []})
        )
    third = _take(service, service.student, recording, piece="WoO 80 var. 8")
    assert third["status"] == "done"
    assert third["report"]["compared_with"] == first["id"]
