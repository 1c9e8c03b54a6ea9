"""Issue 21: a manifest's source URL becomes a link in citations, so only http(s) URLs are read as URLs; a
plain note stays a note, and a row with another scheme is an error naming the row."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus.errors import DocumentError
from corpus.manifest import read_manifest
from corpus.urls import check_web_url, is_web_url, web_url_or_none

HEADER = "slug\ttitle\tauthor\tyear\tlicense_or_pd_basis\toriginal_source_url\n"


def _manifest(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "MANIFEST.tsv"
    path.write_text(
        HEADER
        + "good\tGood\tA\t1900\tPD\thttps://www.gutenberg.org/ebooks/1\n"
        + f"bad\tBad\tB\t1901\tPD\t{url}\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.domain)",
        "JavaScript:alert(1)",
        "data:text/html,x",
        "vbscript:x",
        "file:///etc/passwd",
        "//evil.example/x",
        "ftp://example.org/x",
    ],
)
def test_a_row_with_another_scheme_is_an_error(tmp_path: Path, url: str) -> None:
    with pytest.raises(DocumentError, match=r"row 'bad': the source URL must be an http:// or https:// URL"):
        read_manifest(_manifest(tmp_path, url))


def test_web_urls_are_kept_and_notes_are_not_urls(tmp_path: Path) -> None:
    entries = read_manifest(_manifest(tmp_path, "scan source not recorded in repo"))
    assert entries["good"].url == "https://www.gutenberg.org/ebooks/1" and entries["good"].source_note is None
    assert entries["bad"].url is None and entries["bad"].source_note == "scan source not recorded in repo"
    assert read_manifest(_manifest(tmp_path, ""))["bad"].url is None


def test_the_url_checks() -> None:
    assert check_web_url("  https://example.org/a?b=c ") == "https://example.org/a?b=c"
    assert check_web_url(None) is None and check_web_url("  ") is None
    for bad in (
        "javascript:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "https://",
        "http://[::1",
        "https://exa mple.org",
        "https:\\\\evil.example",
        "not a url",
    ):
        assert not is_web_url(bad) and web_url_or_none(bad) is None, bad
        with pytest.raises(ValueError, match="http:// or https://"):
            check_web_url(bad)
    assert web_url_or_none("HTTP://Example.org/x") == "HTTP://Example.org/x" and web_url_or_none(None) is None
