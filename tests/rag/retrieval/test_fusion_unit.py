"""Reciprocal rank fusion on hand-made rankings: the arithmetic, weights, ties and argument checks."""

from __future__ import annotations

import pytest

from rag.retrieval.fusion import rrf


def test_a_single_ranking_keeps_its_order_with_one_over_k_plus_rank() -> None:
    assert rrf([["a", "b", "c"]], k=10) == [("a", 1 / 11), ("b", 1 / 12), ("c", 1 / 13)]


def test_agreement_between_rankings_beats_one_first_place() -> None:
    fused = dict(rrf([["x", "both"], ["y", "both"]], k=1))
    # "both" is second twice: 2 * 1/3 > 1/2 of a single first place
    assert fused["both"] == pytest.approx(2 / 3)
    assert fused["x"] == pytest.approx(1 / 2) and fused["y"] == pytest.approx(1 / 2)
    assert rrf([["x", "both"], ["y", "both"]], k=1)[0][0] == "both"


def test_a_document_missing_from_a_list_gets_nothing_from_it() -> None:
    fused = dict(rrf([["a", "b"], ["b"]], k=60))
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)


def test_weights_scale_each_list() -> None:
    fused = dict(rrf([["a"], ["b"]], k=60, weights=[2.0, 0.5]))
    assert fused == {"a": pytest.approx(2 / 61), "b": pytest.approx(0.5 / 61)}
    assert [d for d, _ in rrf([["a"], ["b"]], weights=[0.5, 2.0])] == ["b", "a"]


def test_ties_keep_first_seen_order() -> None:
    assert [d for d, _ in rrf([["p", "q"], ["q", "p"]])] == ["p", "q"]
    assert [d for d, _ in rrf([["q", "p"], ["p", "q"]])] == ["q", "p"]


def test_empty_input_fuses_to_nothing() -> None:
    assert rrf([]) == []
    assert rrf([[], []]) == []


@pytest.mark.parametrize("k", [0, -5])
def test_k_below_one_is_refused(k: int) -> None:
    with pytest.raises(ValueError, match="K must be >= 1"):
        rrf([["a"]], k=k)


def test_one_weight_per_ranking() -> None:
    with pytest.raises(ValueError, match="one weight per ranking"):
        rrf([["a"], ["b"]], weights=[1.0])
