"""/v1/documents and /v1/search through HTTP with the real retriever (MiniLM, BM25, FAISS) on two short
books of the shared corpus, on SQLite and Postgres."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.settings import Settings
from tests.api_support import SMALL_BOOKS, Api, manifest_row, start_api, stored_uploads, upload_book


@pytest.fixture(scope="module")
def indexed(
    tmp_path_factory: pytest.TempPathFactory,
    shared_dir: Path,
    module_database_url: str | None,
    embedding_cache_dir: Path,
) -> Iterator[Api]:
    """One app per database backend with the two small books indexed through the API."""
    home = tmp_path_factory.mktemp("home")
    settings = Settings(
        home=home,
        shared_dir=shared_dir,
        database_url=module_database_url,
        rate_limit_per_minute=10_000,
        embedding_cache_dir=embedding_cache_dir,
    )
    for api in start_api(settings):
        for slug in SMALL_BOOKS:
            response = upload_book(api, slug)
            assert response.status_code == 201, response.text
            body = response.json()
            assert body["document_id"] == slug
            assert body["report"]["added"] == 1 and body["report"]["chunks_added"] > 10
        yield api


def _chunk_count(api: Api) -> int:
    return api.count("chunks")


def test_list_and_search_modes(indexed: Api) -> None:
    listed = indexed.client.get("/v1/documents", headers=indexed.student)
    assert listed.status_code == 200
    docs = {d["document_id"]: d for d in listed.json()["items"]}
    assert set(docs) == set(SMALL_BOOKS)
    schumann = manifest_row(indexed.settings, "schumann_advice_to_young_musicians")["author"]
    assert docs["schumann_advice_to_young_musicians"]["author"] == schumann
    for mode in ("bm25", "dense", "hybrid"):
        response = indexed.client.get(
            "/v1/search",
            headers=indexed.student,
            params={"q": "practise scales every day", "mode": mode, "k": 3},
        )
        assert response.status_code == 200, response.text
        hits = response.json()
        assert [h["rank"] for h in hits] == [1, 2, 3]
        assert {"rank", "score", "chunk_id", "text", "section", "char_start", "char_end", "source"} <= set(
            hits[0]
        )
        assert hits[0]["source"]["document_id"] in SMALL_BOOKS
    filtered = indexed.client.get(
        "/v1/search",
        headers=indexed.student,
        params={"q": "playing in public", "mode": "bm25", "filter": f"author={schumann}"},
    )
    assert filtered.status_code == 200, filtered.text
    assert filtered.json() and {h["source"]["author"] for h in filtered.json()} == {schumann}


def test_search_runs_the_second_model_only_when_asked(indexed: Api) -> None:
    """The REST default is the fast tier (setting search_second_model off); second_model=true re-orders the
    head with mpnet, whose re-ordered top scores 1 + its combined score (the blend alone stays below 1)."""
    params = {"q": "how should a young musician practise scales", "mode": "hybrid", "k": 5}
    fast = indexed.client.get("/v1/search", headers=indexed.student, params=params)
    full = indexed.client.get(
        "/v1/search", headers=indexed.student, params={**params, "second_model": "true"}
    )
    assert fast.status_code == 200 and full.status_code == 200, (fast.text, full.text)
    assert all(h["score"] < 1 for h in fast.json())
    assert all(h["score"] >= 1 for h in full.json())
    assert {h["chunk_id"] for h in fast.json()} == {
        h["chunk_id"] for h in full.json()
    }  # same top 5, re-ordered


def test_search_rejects_bad_parameters(indexed: Api) -> None:
    client, h = indexed.client, indexed.student
    for params, status in (
        ({"q": ""}, 422),
        ({}, 422),
        ({"q": "x", "mode": "magic"}, 422),
        ({"q": "x", "k": 0}, 422),
        ({"q": "x", "k": "many"}, 422),
        ({"q": "x", "filter": "no-equals-sign"}, 400),
    ):
        response = client.get("/v1/search", headers=h, params=params)
        assert response.status_code == status, (params, response.text)
        assert set(response.json()["error"]) == {"code", "message", "detail"}
    assert client.get("/v1/search", params={"q": "x"}).status_code == 401


def test_bad_document_uploads_store_nothing(indexed: Api) -> None:
    client, admin = indexed.client, indexed.admin
    before = _chunk_count(indexed)
    cases = [
        ({"file": ("tool.exe", b"MZ\x90\x00binary", "application/octet-stream")}, 415),
        ({"file": ("empty.txt", b"", "text/plain")}, 400),
        ({"file": ("blank.md", b"   \n\n  ", "text/markdown")}, 400),
        ({"file": ("fake.pdf", b"%PDF-1.4 this is not really a pdf", "application/pdf")}, 400),
        ({"other": ("a.txt", b"hello", "text/plain")}, 400),
    ]
    for files, status in cases:
        response = client.post("/v1/documents", headers=admin, files=files)
        assert response.status_code == status, (files, response.text)
    not_multipart = client.post("/v1/documents", headers=admin, json={"text": "hi"})
    assert not_multipart.status_code == 415
    bad_slug = client.post(
        "/v1/documents",
        headers=admin,
        files={"file": ("a.txt", b"words " * 50, "text/plain")},
        data={"slug": "../../etc"},
    )
    assert bad_slug.status_code == 400
    assert _chunk_count(indexed) == before
    assert len(client.get("/v1/documents", headers=admin).json()["items"]) == len(SMALL_BOOKS)
    assert stored_uploads(indexed.settings) == []


def test_markdown_html_and_pdf_are_indexed_then_deleted(indexed: Api) -> None:
    client, admin = indexed.client, indexed.admin
    md = (
        b"# Pedal studies\n\nListen to the bass: lift the damper pedal exactly when the harmony changes.\n"
        * 3
    )
    html = (
        b"<html><head><title>Wrist staccato</title></head><body><h1>Wrist staccato</h1>"
        b"<p>Let the hand fall from a loose wrist; the forearm stays quiet.</p></body></html>"
    )
    pdf = _pdf_with_text(
        "Voicing chords: the melody note sounds above the accompaniment by weighting the fifth finger."
    )
    before = _chunk_count(indexed)
    created = []
    for name, data, ctype in (
        ("pedal.md", md, "text/markdown"),
        ("staccato.html", html, "text/html"),
        ("voicing.pdf", pdf, "application/pdf"),
    ):
        response = client.post(
            "/v1/documents",
            headers=admin,
            files={"file": (name, data, ctype)},
            data={"author": "Test Teacher"},
        )
        assert response.status_code == 201, (name, response.text)
        created.append(response.json()["document_id"])
    again = client.post("/v1/documents", headers=admin, files={"file": ("pedal.md", md, "text/markdown")})
    assert again.status_code == 201 and again.json()["report"]["skipped"] == 1
    hits = client.get(
        "/v1/search",
        headers=admin,
        params={"q": "weighting the fifth finger voicing", "mode": "bm25", "k": 1},
    ).json()
    assert hits[0]["source"]["document_id"] == created[2]
    for document_id in created:
        assert client.delete(f"/v1/documents/{document_id}", headers=admin).status_code == 204
    assert client.delete(f"/v1/documents/{created[0]}", headers=admin).status_code == 404
    assert _chunk_count(indexed) == before
    hits = client.get(
        "/v1/search", headers=admin, params={"q": "weighting the fifth finger voicing", "mode": "bm25"}
    )
    assert all(h["source"]["document_id"] in SMALL_BOOKS for h in hits.json())


def test_document_size_limit(indexed: Api) -> None:
    small = indexed.settings.model_copy(update={"document_max_bytes": 1000})
    indexed.app.state.cadenza.settings = small  # the limit is read per request
    try:
        response = indexed.client.post(
            "/v1/documents", headers=indexed.admin, files={"file": ("big.txt", b"x" * 5000, "text/plain")}
        )
    finally:
        indexed.app.state.cadenza.settings = indexed.settings
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"
    assert stored_uploads(indexed.settings) == []


def _pdf_with_text(text: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"pdf.fonttype": 42}):  # TrueType: text stays extractable
        fig = plt.figure(figsize=(8, 2))
        fig.text(0.02, 0.5, text, fontsize=9)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="pdf")
        plt.close(fig)
    return buffer.getvalue()


def test_a_nul_character_is_dropped_from_a_document_and_refused_in_a_query_or_an_id(indexed: Api) -> None:
    """Postgres refuses NUL in a text column: a document with a stray NUL byte, a NUL in a search or a
    document id reached it as a 500 (a hostile probe of the CI's Postgres run)."""
    client, admin = indexed.client, indexed.admin
    text = (
        b"Trill practice: begin the trill slowly from the upper\x00 note and let the wrist stay loose.\n" * 3
    )
    created = client.post("/v1/documents", headers=admin, files={"file": ("trill.txt", text, "text/plain")})
    assert created.status_code == 201, created.text
    document_id = created.json()["document_id"]
    hits = client.get(
        "/v1/search", headers=admin, params={"q": "begin the trill slowly upper note", "mode": "bm25", "k": 1}
    ).json()
    assert hits[0]["source"]["document_id"] == document_id and "\x00" not in hits[0]["text"]
    assert "upper note" in hits[0]["text"]
    for params in ({"q": "trill\x00"}, {"q": "trill", "filter": "author=a\x00b"}):
        refused = client.get("/v1/search", headers=admin, params=params)
        assert refused.status_code == 400 and "NUL" in refused.json()["error"]["message"], refused.text
    assert client.delete("/v1/documents/tr%00ill", headers=admin).status_code == 404
    assert client.delete(f"/v1/documents/{document_id}", headers=admin).status_code == 204
