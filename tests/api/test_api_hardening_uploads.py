"""Upload checks a hostile probe of the REST service found missing (issue 21, defects 4, 5 and 6):
document URLs other than http/https, header-only WAVs, error messages naming internal files, slugs that
DELETE did not resolve, a dedup skip that said nothing. Each test failed before its fix.

The ``bare_api`` tests need no ../shared data; those that index a document use the real retriever."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import update

from api.settings import Settings
from corpus.catalogue import CATALOGUE_STATE
from corpus.models import DocumentRow, IndexStateRow
from tests.api_support import Api, start_api, stored_uploads

BAD_URLS = (
    "javascript:alert(document.domain)",
    " JavaScript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "//evil.example/x",
    "not a url at all",
)
TEXT = (
    "Practise the passage slowly with a light arm, listening for an even tone in every voice. "
    "Lift the pedal exactly as the harmony changes so the bass does not blur.\n\n"
) * 6


@pytest.fixture()
def bare_api(unit_settings: Settings) -> Iterator[Api]:
    # No scoring worker: these tests look at what the upload answers and stores, not at the report.
    yield from start_api(unit_settings.model_copy(update={"jobs_in_process": False}))


def _post_document(api: Api, text: str = TEXT, **data: str) -> httpx.Response:
    return api.client.post(
        "/v1/documents",
        headers=api.admin,
        files={"file": ("notes.txt", text.encode(), "text/plain")},
        data=data,
    )


def _wav(seconds: float, sr: int = 22_050) -> bytes:
    t = np.arange(int(seconds * sr)) / sr
    buffer = io.BytesIO()
    sf.write(
        buffer, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sr, format="WAV", subtype="PCM_16"
    )
    return buffer.getvalue()


def _post_recording(api: Api, data: bytes, filename: str = "take.wav") -> httpx.Response:
    return api.client.post(
        "/v1/performances", headers=api.student, files={"file": (filename, data, "audio/wav")}
    )


def _assert_json_400(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"]["code"] == "invalid_input", body
    return str(body["error"]["message"]) + str(body["error"].get("detail") or "")


# --- defect 4: document URLs -------------------------------------------------------------------------


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_document_url_other_than_http_is_refused(bare_api: Api, url: str) -> None:
    message = _assert_json_400(_post_document(bare_api, url=url, title="Notes"))
    assert "url" in message
    assert bare_api.count("documents") == 0 and bare_api.count("chunks") == 0
    assert stored_uploads(bare_api.settings) == []


def test_web_urls_and_none_are_accepted_and_stored_urls_of_other_schemes_are_dropped(api: Api) -> None:
    created = _post_document(api, title="Pedal notes", url="https://example.org/pedal", slug="pedal-notes")
    assert created.status_code == 201, created.text
    document_id = created.json()["document_id"]
    hits = api.client.get(
        "/v1/search", headers=api.student, params={"q": "pedal blur", "mode": "bm25"}
    ).json()
    assert hits and hits[0]["source"]["url"] == "https://example.org/pedal"
    assert _post_document(api, text=TEXT + "No link here.", title="Unlinked").status_code == 201
    # A row written before the check (or by another process) with another scheme: never handed out again.
    with api.state.components.retriever().catalogue.session() as s, s.begin():
        s.execute(
            update(DocumentRow)
            .where(DocumentRow.document_id == document_id)
            .values(url="javascript:alert(document.domain)")
        )
        s.execute(
            update(IndexStateRow)
            .where(IndexStateRow.name == CATALOGUE_STATE)
            .values(generation=IndexStateRow.generation + 1)
        )  # what a writer does: searches reload
    listed = {
        d["document_id"]: d for d in api.client.get("/v1/documents", headers=api.student).json()["items"]
    }
    assert listed[document_id]["url"] is None
    hits = api.client.get(
        "/v1/search", headers=api.student, params={"q": "pedal blur", "mode": "bm25"}
    ).json()
    assert hits and all(h["source"]["url"] is None for h in hits)
    assert "javascript" not in str(hits)


# --- defect 5: a WAV header without its audio --------------------------------------------------------


@pytest.mark.parametrize("cut", ["header-only", "header-claims-more"])
def test_a_wav_without_a_second_of_audio_is_refused_at_upload(bare_api: Api, cut: str) -> None:
    wav = _wav(10.0)
    data = wav[:44] if cut == "header-only" else wav[: 44 + int(0.2 * 22_050) * 2]
    message = _assert_json_400(_post_recording(bare_api, data))
    assert "1 s" in message
    assert bare_api.count("performances") == 0 and bare_api.count("jobs") == 0
    assert stored_uploads(bare_api.settings) == []


def test_a_whole_short_wav_is_still_accepted(bare_api: Api) -> None:
    response = _post_recording(bare_api, _wav(1.5))
    assert response.status_code == 202, response.text


# --- defect 6: the client's file name in messages ----------------------------------------------------


@pytest.mark.parametrize(
    "data", [_wav(10.0)[:30], _wav(10.0)[:44], _wav(0.4)], ids=["no-data-chunk", "header-only", "too-short"]
)
def test_upload_errors_name_the_clients_file(bare_api: Api, data: bytes) -> None:
    message = _assert_json_400(_post_recording(bare_api, data, filename="my take.wav"))
    assert "my take.wav" in message
    assert not re.search(r"[0-9a-f]{32}", message) and ".partial" not in message, message


# --- defect 6: slugs and dedup skips -----------------------------------------------------------------


def test_a_document_is_deleted_by_its_slug(api: Api) -> None:
    created = _post_document(api, title="QA page", slug="qa-html")
    assert created.status_code == 201, created.text
    assert created.json()["document_id"] == "qa_html"  # the stored id is kept as it was
    assert api.client.delete("/v1/documents/qa-html", headers=api.admin).status_code == 204
    listed = api.client.get("/v1/documents", headers=api.student).json()["items"]
    assert listed == []
    assert api.count("chunks") == 0
    assert api.client.delete("/v1/documents/qa-html", headers=api.admin).status_code == 404


def test_a_dedup_skip_says_what_it_ignored(api: Api) -> None:
    first = _post_document(api, title="QA page", slug="qa-html")
    assert first.status_code == 201 and first.json()["skipped"] is False and first.json()["note"] is None
    again = _post_document(api, title="Another title", slug="other-slug")
    assert again.status_code == 201, again.text
    body = again.json()
    assert body["document_id"] == "qa_html" and body["report"]["skipped"] == 1 and body["skipped"] is True
    assert "qa_html" in body["note"] and "slug" in body["note"] and "title" in body["note"]
    listed = api.client.get("/v1/documents", headers=api.student).json()["items"]
    assert [(d["document_id"], d["slug"], d["title"]) for d in listed] == [("qa_html", "qa-html", "QA page")]


def test_stored_citations_and_sources_hand_out_only_web_urls() -> None:
    """Feedback and tutor answers stored before the check keep their citations, without the bad link."""
    from api.schemas import MessagePublic, ReplyPublic
    from rag.generation.feedback_types import Citation
    from rag.retrieval.types import SourceRef

    bad, good = "javascript:alert(document.domain)", "https://www.gutenberg.org/ebooks/4939"
    assert SourceRef(document_id="d", title="T", url=bad).url is None
    assert SourceRef(document_id="d", title="T", url=good).url == good
    assert Citation(n=1, chunk_id="d:0", title="T", url=bad, char_start=0, char_end=1).url is None
    cited = [{"n": 1, "title": "T", "url": bad}, {"n": 2, "title": "U", "url": good}, {"n": 3, "title": "V"}]
    message = MessagePublic(
        id="m", seq=1, role="assistant", content="x [1]", citations=cited, created_at="2025-01-01T00:00:00Z"
    )
    assert [c.get("url") for c in message.citations] == [None, good, None]
    assert [c["title"] for c in message.citations] == ["T", "U", "V"]
    reply = ReplyPublic(session_id="s", message=message, feedback={"text": "x [1]", "citations": cited})
    assert [c.get("url") for c in reply.feedback["citations"]] == [None, good, None]
