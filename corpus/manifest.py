"""The corpus MANIFEST.tsv: one row per book (slug, title, author, year, licence, source URL)."""

from __future__ import annotations

import csv
from pathlib import Path

from pydantic import BaseModel

from corpus.errors import DocumentError


class ManifestEntry(BaseModel):
    slug: str
    title: str
    author: str | None = None
    year: str | None = None
    licence: str | None = None
    url: str | None = None


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
            entries[slug] = ManifestEntry(
                slug=slug,
                title=(row.get("title") or slug).strip(),
                author=(row.get("author") or "").strip() or None,
                year=(row.get("year") or "").strip() or None,
                licence=(row.get("license_or_pd_basis") or row.get("licence") or "").strip() or None,
                url=(row.get("original_source_url") or row.get("url") or "").strip() or None,
            )
    return entries
