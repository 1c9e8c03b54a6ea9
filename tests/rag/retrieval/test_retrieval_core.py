"""Pure retrieval pieces: RRF arithmetic, BM25 OR semantics and backend agreement on real chunks,
query construction from a score report."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus.chunking import chunk_text
from corpus.loaders import load_file
from rag.generation.dimension_words import DIMENSION_WORDS
from rag.generation.query import queries_from_report
from rag.retrieval.bm25 import Bm25sIndex, Fts5Index, RankBm25Index, tokenize
from rag.retrieval.fusion import rrf
from scorer.dimensions import DIMENSIONS, NAMES
from scorer.schema import ScoreReport, Spot
from tests.retrieval_support import book_paths


def test_rrf_arithmetic_k60_ranks_from_one() -> None:
    fused = dict(rrf([["a", "b", "c"], ["c", "a"]], k=60))
    assert fused["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["b"] == pytest.approx(1 / 62)  # absent from the second list: nothing from it
    assert fused["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert [d for d, _ in rrf([["a", "b", "c"], ["c", "a"]], k=60)] == ["a", "c", "b"]
    weighted = dict(rrf([["a"], ["b"]], k=10, weights=[2.0, 1.0]))
    assert weighted == {"a": pytest.approx(2 / 11), "b": pytest.approx(1 / 11)}
    with pytest.raises(ValueError):
        rrf([["a"]], k=0)


@pytest.fixture(scope="module")
def real_chunks(shared_dir: Path) -> list[str]:
    text = load_file(book_paths(shared_dir, ("hofmann_piano_playing_questions_answered",))[0]).text
    # whitespace word count is enough to build a BM25 test collection
    spans = chunk_text(text, count=lambda xs: [len(x.split()) for x in xs], max_tokens=150)
    return [s.text for s in spans]


@pytest.mark.parametrize("cls", [Bm25sIndex, RankBm25Index, Fts5Index])
def test_bm25_or_semantics(cls, real_chunks: list[str]) -> None:
    index = cls(None)
    index.add(list(range(1, len(real_chunks) + 1)), real_chunks)
    pedal_only = index.search("pedal", 1000)
    # a term that occurs nowhere must not turn the query into an empty AND
    assert [s for s, _ in index.search("pedal zzzqqxnonword", 1000)] == [s for s, _ in pedal_only]
    both = {s for s, _ in index.search("pedal metronome", 1000)}
    metronome_only = {s for s, _ in index.search("metronome", 1000)}
    assert both == {s for s, _ in pedal_only} | metronome_only  # union, not intersection
    assert index.search("zzzqqxnonword", 10) == []


def test_bm25_backends_rank_alike(real_chunks: list[str]) -> None:
    seqs = list(range(1, len(real_chunks) + 1))
    indexes = [Bm25sIndex(None), RankBm25Index(None), Fts5Index(None)]
    for index in indexes:
        index.add(seqs, real_chunks)
    for query in ("how to use the pedal", "practise scales slowly with the metronome", "memorizing a piece"):
        tops = [[s for s, _ in ix.search(query, 10)] for ix in indexes]
        # Lucene's, Okapi's (rank-bm25) and FTS5's IDF variants differ slightly: the top 10 mostly agree
        assert len(set(tops[0]) & set(tops[1])) >= 7, tops
        assert len(set(tops[0]) & set(tops[2])) >= 7, tops


def test_bm25_filter_and_delete(real_chunks: list[str]) -> None:
    index = Bm25sIndex(None)
    index.add(list(range(1, len(real_chunks) + 1)), real_chunks)
    top = [s for s, _ in index.search("pedal", 5)]
    allowed = set(top[2:])
    assert {s for s, _ in index.search("pedal", 5, allowed)} <= allowed
    index.delete(top[:1])
    assert top[0] not in {s for s, _ in index.search("pedal", 50)}


def test_tokenizer_stems_and_drops_stop_words() -> None:
    assert tokenize("The pedalling of the Pedals") == tokenize("pedal pedals")[:1] + tokenize("pedals")


def _report(spots: list[Spot]) -> ScoreReport:
    return ScoreReport(
        duration_s=30.0, backend="test", dimensions=[], windows=[], weak_spots=spots, strengths=[]
    )


def test_queries_from_report_one_per_weak_dimension_plus_whole() -> None:
    assert set(DIMENSION_WORDS) == set(NAMES)
    spots = [
        Spot(dimension="pedal_clarity", start_s=0, end_s=5, score=0.7, severity=0.9, reason="blurred"),
        Spot(dimension="timing_stability", start_s=5, end_s=9, score=0.6, severity=0.5, reason="unstable"),
        Spot(dimension="pedal_clarity", start_s=10, end_s=12, score=0.65, severity=0.4, reason="blurred"),
    ]
    queries = queries_from_report(_report(spots), piece="Nocturne op. 9 no. 2", composer="Chopin")
    assert [q.dimension for q in queries] == ["pedal_clarity", "timing_stability", None]
    assert "pedal" in queries[0].text and "harmon" in queries[0].text and "Chopin" in queries[0].text
    assert "rhythm" in queries[1].text
    assert "Chopin" in queries[-1].text
    # Feedback ranks a dimension's passages by its advice topic: in a teacher's words, without the piece.
    assert {n for n, w in DIMENSION_WORDS.items() if w.advice} == {
        d.name for d in DIMENSIONS if d.kind == "quality"
    }
    assert queries[0].topic == DIMENSION_WORDS["pedal_clarity"].advice and "Chopin" not in queries[0].topic
    assert queries[-1].topic is None
    only_whole = queries_from_report(_report([]))
    assert len(only_whole) == 1 and only_whole[0].dimension is None and only_whole[0].text
