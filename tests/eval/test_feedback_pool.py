"""The feedback-query set's pool tool: new candidates only, and qrels rebuilt exactly from the judgements."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval import feedback_pool as fp
from eval.loaders import read_jsonl


def test_systems_are_name_and_depth() -> None:
    assert fp.parse_systems("nomic/dense:10, hybrid:5") == [("nomic/dense", 10), ("hybrid", 5)]
    with pytest.raises(ValueError, match="NAME:DEPTH"):
        fp.parse_systems("dense")


def test_only_unjudged_spans_of_the_named_systems_at_their_depth_are_pooled() -> None:
    rankings = [
        {
            "system": "a",
            "query_id": "q1",
            "ranking": [[1, "book", 0, 10], [2, "book", 10, 20], [3, "book", 20, 30]],
        },
        {"system": "b", "query_id": "q1", "ranking": [[2, "book", 10, 20]]},
        {"system": "c", "query_id": "q1", "ranking": [[4, "book", 40, 50]]},  # not asked for
    ]
    judged = {("q1", ("book", 0, 10))}
    got = fp.new_candidates(rankings, [("a", 2), ("b", 1)], judged)
    assert got == {"q1": {("book", 10, 20): ["a", "b"]}}


def test_rebuilt_qrels_equal_the_committed_ones(shared_dir: Path) -> None:
    """The committed qrels are a function of the committed judgements (the merge step rewrites them)."""
    queries = read_jsonl(fp.QUERIES)
    rebuilt = fp.rebuild_qrels(queries, read_jsonl(fp.JUDGEMENTS), shared_dir / "corpus" / "texts")
    assert rebuilt == read_jsonl(fp.QRELS)
    assert all(r["grade"] in (1, 2) for q in rebuilt for r in q["relevant"])


def test_a_grade_outside_0_to_2_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "grades.tsv"
    path.write_text("n0001\t2\nn0002\t3\n")
    with pytest.raises(ValueError, match="not 0, 1 or 2"):
        fp.read_grades(path)
    path.write_text("n0001\t2\n\nn0002 0\n")
    assert fp.read_grades(path) == {"n0001": 2, "n0002": 0}
    assert json.dumps(fp.read_grades(path))  # plain ints
