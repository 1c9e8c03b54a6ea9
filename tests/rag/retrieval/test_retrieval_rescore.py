"""The blend behind the hybrid second stage (rag/retrieval/rescore.py), on hand-checkable numbers."""

from __future__ import annotations

import pytest

from rag.retrieval.rescore import blend_scores, reorder_top


def test_blend_scales_bm25_by_top_and_cosine_by_min_max() -> None:
    # BM25 / 10 -> 1.0, 0.5, 0 ; cosine min-max over the candidates -> 1.0, 0.0, 0.5
    got = dict(
        blend_scores([1, 2, 3], {1: 10.0, 2: 5.0}, {1: 0.6, 2: 0.4, 3: 0.5}, bm25_top=10.0, weight_bm25=0.3)
    )
    assert got[1] == pytest.approx(0.3 * 1.0 + 0.7 * 1.0)
    assert got[2] == pytest.approx(0.3 * 0.5 + 0.7 * 0.0)
    assert got[3] == pytest.approx(0.3 * 0.0 + 0.7 * 0.5)


def test_blend_orders_best_first_and_weight_moves_the_order() -> None:
    bm25, cosine = {1: 9.0, 2: 1.0}, {1: 0.40, 2: 0.50}
    assert [c for c, _ in blend_scores([1, 2], bm25, cosine, bm25_top=9.0, weight_bm25=0.3)] == [2, 1]
    assert [c for c, _ in blend_scores([1, 2], bm25, cosine, bm25_top=9.0, weight_bm25=0.7)] == [1, 2]
    # weight 0 = cosine order, weight 1 = BM25 order
    assert [c for c, _ in blend_scores([1, 2], bm25, cosine, bm25_top=9.0, weight_bm25=0.0)] == [2, 1]
    assert [c for c, _ in blend_scores([1, 2], bm25, cosine, bm25_top=9.0, weight_bm25=1.0)] == [1, 2]


def test_sentence_score_enters_min_max_scaled() -> None:
    # sentence cosines 0.9, 0.5 -> 1, 0 ; chunk cosines equal -> 0 ; no BM25 match
    got = dict(
        blend_scores(
            [1, 2],
            {},
            {1: 0.4, 2: 0.4},
            bm25_top=0.0,
            weight_bm25=0.3,
            sentence={1: 0.9, 2: 0.5},
            weight_sentence=0.2,
        )
    )
    assert got == pytest.approx({1: 0.2, 2: 0.0})
    # a candidate without sentences takes its chunk cosine on that side
    got = dict(
        blend_scores(
            [1, 2],
            {},
            {1: 0.7, 2: 0.4},
            bm25_top=0.0,
            weight_bm25=0.0,
            sentence={2: 0.5},
            weight_sentence=0.5,
        )
    )
    assert got == pytest.approx({1: 0.5 * 1.0 + 0.5 * 1.0, 2: 0.0})


def test_blend_edge_cases() -> None:
    assert blend_scores([], {}, {}, bm25_top=1.0, weight_bm25=0.3) == []
    # equal cosines and no BM25 match: all zero, fused order kept
    assert [
        c for c, _ in blend_scores([7, 3, 5], {}, {7: 0.5, 3: 0.5, 5: 0.5}, bm25_top=0.0, weight_bm25=0.3)
    ] == [7, 3, 5]
    with pytest.raises(ValueError):
        blend_scores([1], {}, {1: 0.1}, bm25_top=1.0, weight_bm25=1.5)
    with pytest.raises(ValueError):
        blend_scores([1], {}, {1: 0.1}, bm25_top=1.0, weight_bm25=0.6, sentence={1: 0.1}, weight_sentence=0.6)
    with pytest.raises(ValueError):
        blend_scores(
            [1], {}, {1: 0.1}, bm25_top=1.0, weight_bm25=0.3, weight_sentence=0.2
        )  # no sentence scores


def test_reorder_top_blends_min_max_scaled_scores_of_the_head_only() -> None:
    ranked = [(1, 0.9), (2, 0.7), (3, 0.5), (4, 0.4), (5, 0.1)]
    # head = 1, 2, 3: blend' 1, 0.5, 0 ; model cosines 0.2, 0.3, 0.6 -> model' 0, 0.25, 1
    # weight 0.6: 1 -> 0.4, 2 -> 0.2 + 0.15 = 0.35, 3 -> 0.6 (reported as 1 + combined)
    got = reorder_top(ranked, {1: 0.2, 2: 0.3, 3: 0.6}, weight=0.6, n=3)
    assert [c for c, _ in got] == [3, 1, 2, 4, 5]
    assert dict(got[:3]) == pytest.approx({3: 1.6, 1: 1.4, 2: 1.35})
    # the tail keeps its order, scaled below the head
    assert dict(got[3:]) == pytest.approx({4: 0.999, 5: 0.999 * 0.1 / 0.4})
    scores = [s for _, s in got]
    assert scores == sorted(scores, reverse=True)


def test_reorder_top_weight_zero_keeps_and_one_follows_the_model() -> None:
    ranked = [(1, 0.9), (2, 0.7), (3, 0.5)]
    cosine = {1: 0.1, 2: 0.3, 3: 0.2}
    assert [c for c, _ in reorder_top(ranked, cosine, weight=0.0, n=3)] == [1, 2, 3]
    assert [c for c, _ in reorder_top(ranked, cosine, weight=1.0, n=3)] == [2, 3, 1]
    assert [c for c, _ in reorder_top(ranked, cosine, weight=1.0, n=2)] == [2, 1, 3]  # only the head moves


def test_reorder_top_edge_cases() -> None:
    assert reorder_top([], {}, weight=0.5, n=5) == []
    with pytest.raises(ValueError):
        reorder_top([(1, 0.5), (2, 0.4)], {1: 0.3}, weight=0.5, n=2)  # a head candidate without a cosine
    with pytest.raises(ValueError):
        reorder_top([(1, 0.5)], {1: 0.3}, weight=1.5, n=1)
