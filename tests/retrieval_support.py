"""Helpers shared by the retrieval tests: a small real slice of the corpus."""

from __future__ import annotations

from pathlib import Path

from api.settings import Settings

# Three short books (~5k words each) keep indexing within seconds once the cache is warm.
SMALL_BOOKS = (
    "schumann_advice_to_young_musicians",
    "saint_saens_execution_of_music",
    "matthay_forearm_rotation",
)


def book_paths(shared_dir: Path, slugs: tuple[str, ...] = SMALL_BOOKS) -> list[Path]:
    return [shared_dir / "corpus" / "texts" / f"{slug}.txt" for slug in slugs]


def make_settings(home: Path, shared_dir: Path, cache: Path, **overrides: object) -> Settings:
    return Settings(home=home, shared_dir=shared_dir, embedding_cache_dir=cache, **overrides)
