"""Helpers for the feedback tests: real corpus passages as SearchHits, and score reports built on the
scorer's contract. Passages are cut from the shared corpus files at their real character offsets."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path
from typing import Any

from api.settings import Settings
from rag.generation.config import GenerationConfig
from rag.retrieval.types import SearchHit, SourceRef
from scorer.dimensions import DIMENSIONS
from scorer.schema import DimensionScore, ScoreReport, Spot


def manifest(shared_dir: Path) -> dict[str, dict[str, str]]:
    with (shared_dir / "corpus" / "MANIFEST.tsv").open(encoding="utf-8") as fh:
        return {row["slug"]: row for row in csv.DictReader(fh, delimiter="\t")}


def corpus_hit(shared_dir: Path, slug: str, phrase: str, *, chars: int = 900, rank: int = 1) -> SearchHit:
    """The passage of `slug` starting a little before `phrase` (which must occur in the book)."""
    text = (shared_dir / "corpus" / "texts" / f"{slug}.txt").read_text(encoding="utf-8")
    at = text.find(phrase)
    assert at >= 0, f"{phrase!r} not in {slug}"
    start = max(0, text.rfind("\n\n", 0, at) + 2 if text.rfind("\n\n", 0, at) > at - 400 else at)
    end = min(len(text), start + chars)
    row = manifest(shared_dir)[slug]
    return SearchHit(
        rank=rank,
        score=1.0 / rank,
        chunk_id=f"{slug}:{start}",
        text=text[start:end],
        section=None,
        char_start=start,
        char_end=end,
        source=SourceRef(
            document_id=slug,
            title=row["title"],
            author=row["author"],
            year=row["year"],
            url=row["original_source_url"],
        ),
    )


def standard_hits(shared_dir: Path) -> list[SearchHit]:
    """Five real passages on pedal, metronome/rhythm, touch, practice and tone."""
    return [
        corpus_hit(shared_dir, "hofmann_piano_playing_questions_answered", "_About Using the Pedal_", rank=1),
        corpus_hit(
            shared_dir, "hofmann_piano_playing_questions_answered", "_Never Play with a Metronome_", rank=2
        ),
        corpus_hit(shared_dir, "matthay_first_principles", "If you want the sound to continue", rank=3),
        corpus_hit(shared_dir, "brower_piano_mastery", "slow", rank=4),
        corpus_hit(shared_dir, "cooke_great_pianists_on_piano_playing", "tone", rank=5),
    ]


def make_report(
    weak: dict[str, float], *, duration_s: float = 95.0, default_goodness: float = 0.62
) -> ScoreReport:
    """A scorer-shaped report: quality dimensions at `default_goodness` except those in `weak`
    (name -> goodness), with one weak spot per weak dimension."""
    dims, spots = [], []
    for i, d in enumerate(DIMENSIONS):
        if d.kind == "quality":
            goodness = weak.get(d.name, default_goodness - 0.01 * (i % 4))
            if d.desirable == "low":  # goodness is measured from the scale's neutral point, see standing()
                goodness -= 1 / 7
            score = goodness if d.desirable == "high" else 1 - goodness
        else:
            score, goodness = 0.55 + 0.02 * (i % 5), None
        dims.append(
            DimensionScore(
                name=d.name,
                label=d.label,
                group=d.group,
                kind=d.kind,
                score=round(score, 4),
                uncertainty=0.05,
                goodness=None if goodness is None else round(goodness, 4),
            )
        )
    for j, name in enumerate(sorted(weak, key=weak.get)):
        start = 10.0 + 25 * j
        spots.append(
            Spot(
                dimension=name,
                start_s=start,
                end_s=start + 8,
                score=0.4,
                severity=0.8 - 0.1 * j,
                reason=f"{name} low",
                bars=[5 + 4 * j, 6 + 4 * j, 7 + 4 * j],
            )
        )
    return ScoreReport(
        duration_s=duration_s,
        backend="test-profile",
        dimensions=dims,
        windows=[],
        weak_spots=spots,
        strengths=[],
        source="test.wav",
    )


def open_small_retriever(home: Path, shared_dir: Path, cache: Path):
    """The real Retriever over three short books (the retrieval tests' slice), sharing the session's
    embedding cache so that each book is embedded once per test run."""
    from rag.retrieval.retriever import Retriever
    from tests.retrieval_support import SMALL_BOOKS, book_paths, make_settings

    retriever = Retriever.open(make_settings(home, shared_dir, cache).retrieval_config())
    retriever.index_paths(
        book_paths(shared_dir, SMALL_BOOKS), manifest=shared_dir / "corpus" / "MANIFEST.tsv"
    )
    return retriever


def feedback_config(retriever: Any, **overrides: Any) -> GenerationConfig:
    """The generation config of settings beside the retriever (same home), with the test's overrides."""
    return dataclasses.replace(Settings(home=retriever.config.home).generation_config(), **overrides)
