"""The corpus MANIFEST.tsv: one row per book (slug, title, author, year, licence, source URL)."""

from __future__ import annotations

import csv
from pathlib import Path

from pydantic import BaseModel

from corpus.errors import DocumentError
from corpus.urls import is_web_url, looks_like_a_link


class ManifestEntry(BaseModel):
    slug: str
    title: str
    author: str | None = None
    year: str | None = None
    licence: str | None = None
    url: str | None = None  # always an http(s) URL: it becomes a link in citations
    source_note: str | None = (
        None  # the source column when it holds a note, not a URL ("scan source not recorded")
    )


def read_manifest(path: Path) -> dict[str, ManifestEntry]:
    """Entries by slug (the file name stem of each text)."""
    if not Path(path).is_file():
        raise DocumentError(f"{path}: manifest not found")
    entries: dict[str, ManifestEntry] = {}
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            slug = (row.get("slug") or "").strip()
            if not slug:
                continue
            source = (row.get("original_source_url") or row.get("url") or "").strip() or None
            url, note = _source(path, slug, source)
            entries[slug] = ManifestEntry(
                slug=slug,
                title=(row.get("title") or slug).strip(),
                author=(row.get("author") or "").strip() or None,
                year=(row.get("year") or "").strip() or None,
                licence=(row.get("license_or_pd_basis") or row.get("licence") or "").strip() or None,
                url=url,
                source_note=note,
            )
    return entries


def _source(path: Path, slug: str, source: str | None) -> tuple[str | None, str | None]:
    """(url, note): an http(s) URL is the url; a note with no scheme ("scan source not recorded") is kept
    apart as a note; anything else a browser would follow (javascript:, data:, //host) is an error."""
    if source is None or is_web_url(source):
        return source, None
    if looks_like_a_link(source):
        raise DocumentError(
            f"{path}: row {slug!r}: the source URL must be an http:// or https:// URL, not {source[:80]!r}"
        )
    return None, source
