"""Issue 21: the catalogue resolves a slug to the document's stored id ('qa-html' is stored as 'qa_html'),
and hands out a stored URL only when it is http(s)."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus.catalogue import Catalogue, NewChunk
from corpus.errors import DocumentNotFound
from corpus.models import DocumentRow


def _put(catalogue: Catalogue, document_id: str, slug: str, url: str | None) -> None:
    row = DocumentRow(
        document_id=document_id,
        slug=slug,
        title=slug,
        author=None,
        year=None,
        url=url,
        licence=None,
        source_type="book",
        sha256=document_id.ljust(64, "0"),
        text="Play slowly. " * 10,
    )
    chunk = NewChunk(
        chunk_id=f"{document_id}:0000",
        ordinal=0,
        section=None,
        char_start=0,
        char_end=12,
        text="Play slowly.",
        embed_text="Play slowly.",
        n_tokens=3,
        tags={},
    )
    catalogue.put_document(row, [chunk], model_name="test", dimension=4)


@pytest.fixture()
def catalogue(tmp_path: Path) -> Catalogue:
    return Catalogue(f"sqlite:///{tmp_path / 'catalogue.db'}")


def test_a_document_is_removed_by_id_or_by_slug(catalogue: Catalogue) -> None:
    _put(catalogue, "qa_html", "qa-html", None)
    _put(catalogue, "other", "other", None)
    assert catalogue.resolve_document_id("qa-html") == "qa_html" == catalogue.resolve_document_id("qa_html")
    assert catalogue.resolve_document_id("nothing") is None
    assert catalogue.remove_document("qa-html") == 1
    assert [d.document_id for d in catalogue.list_documents()] == ["other"]
    with pytest.raises(DocumentNotFound):
        catalogue.remove_document("qa-html")
    assert catalogue.remove_document("other") == 1


def test_stored_urls_other_than_http_are_dropped_when_read(catalogue: Catalogue) -> None:
    _put(catalogue, "bad", "bad", "javascript:alert(document.domain)")
    _put(catalogue, "note", "note", "scan source not recorded in repo")
    _put(catalogue, "good", "good", "https://www.gutenberg.org/ebooks/4939")
    urls = {d.document_id: d.url for d in catalogue.list_documents()}
    assert urls == {"bad": None, "note": None, "good": "https://www.gutenberg.org/ebooks/4939"}
    assert catalogue.documents_meta()["bad"].url is None
