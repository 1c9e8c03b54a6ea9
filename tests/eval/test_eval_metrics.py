"""Span crediting and metrics on hand-checkable toy cases, checked against ranx."""

from __future__ import annotations

import math

import pytest

from eval.credit import RankedItem, covers, credit_ids, credit_spans
from eval.judgements import GoldId, GoldSpan
from eval.metrics import all_metrics, ndcg
from eval.stats import bootstrap_ci, paired_randomisation


def item(n: int, start: int, end: int, source: str = "book") -> RankedItem:
    return RankedItem(f"c{n}", source, start, end)


def test_half_coverage_rule() -> None:
    gold = GoldSpan("book", 100, 200, 2)
    assert covers(item(0, 150, 400), gold)  # exactly half of the quote
    assert not covers(item(0, 151, 400), gold)  # 49 of 100 characters
    assert covers(item(0, 0, 1000), gold)
    assert not covers(item(0, 100, 200, source="other"), gold)
    assert not covers(item(0, 200, 300), gold)  # touching, no overlap
    # known-item variant: a chunk mostly inside a long answer counts
    assert not covers(item(0, 100, 140), gold)
    assert covers(item(0, 100, 140), gold, chunk_half=True)
    assert not covers(item(0, 60, 110), gold, chunk_half=True)


def test_each_quote_is_credited_once_with_its_highest_new_grade() -> None:
    gold = [GoldSpan("book", 0, 100, 1), GoldSpan("book", 1000, 1100, 2), GoldSpan("other", 0, 50, 2)]
    ranking = [
        item(1, 900, 1100),  # covers quote 2 (grade 2)
        item(2, 950, 1150),  # overlapping chunk: quote 2 already credited -> 0
        item(3, 0, 60),  # covers quote 1 (60 of 100) -> 1
        item(4, 0, 5000),  # covers quote 1 again only -> 0
        item(5, 0, 50, "other"),  # quote 3 -> 2
    ]
    c = credit_spans(ranking, gold)
    assert c.gains == [2, 0, 1, 0, 2]
    assert c.credited_rank == [3, 1, 5]
    assert c.ideal == [2, 2, 1]
    dcg = 2 / math.log2(2) + 1 / math.log2(4) + 2 / math.log2(6)
    idcg = 2 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4)
    assert ndcg(c, 10) == pytest.approx(dcg / idcg)


def test_chunk_covering_two_quotes_gains_the_higher_grade_and_credits_both() -> None:
    gold = [GoldSpan("book", 0, 100, 1), GoldSpan("book", 150, 250, 2)]
    c = credit_spans([item(1, 0, 300), item(2, 0, 100)], gold)
    assert c.gains == [2, 0]
    m = all_metrics(c)
    assert m["recall@5"] == 1.0
    assert m["mrr@10"] == 1.0
    assert m["map@100"] == pytest.approx(0.5)  # one relevant rank for two quotes


def test_nothing_found_scores_zero() -> None:
    c = credit_spans([item(1, 500, 600)], [GoldSpan("book", 0, 100, 2)])
    assert all(v == 0.0 for v in all_metrics(c).values())


CASES = [
    # (gains at ranks 1.., grades of the gold items never retrieved)
    ([0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2], [1]),
    ([1, 1, 1], []),
    ([0] * 9 + [2] + [0] * 15 + [1], [2, 2]),
    ([0, 0, 0, 0, 0, 0, 1], []),
    ([2] + [0] * 40 + [1] * 3, [1, 1]),
]


@pytest.mark.parametrize(("gains", "missing"), CASES)
def test_metrics_agree_with_ranx(gains: list[int], missing: list[int]) -> None:
    from ranx import Qrels, Run, evaluate

    # One gold span per credited rank plus the gold spans no chunk reached.
    gold, ranking, qrels = [], [], {}
    for rank, g in enumerate(gains):
        ranking.append(item(rank, rank * 1000, rank * 1000 + 100))
        if g:
            gold.append(GoldSpan("book", rank * 1000, rank * 1000 + 100, g))
            qrels[f"c{rank}"] = g
    for j, g in enumerate(missing):
        gold.append(GoldSpan("book", 10**7 + j * 1000, 10**7 + j * 1000 + 100, g))
        qrels[f"missing{j}"] = g
    ours = all_metrics(credit_spans(ranking, gold))
    run = {f"c{rank}": float(len(gains) - rank) for rank in range(len(gains))}
    theirs = evaluate(Qrels({"q": qrels}), Run({"q": run}), list(ours))
    for metric, value in ours.items():
        assert value == pytest.approx(theirs[metric], abs=1e-9), metric


def test_id_crediting_counts_a_repeated_document_once() -> None:
    c = credit_ids(["d1", "d2", "d1", "d3"], [GoldId("d1", 1), GoldId("d3", 2)])
    assert c.gains == [1, 0, 0, 2]
    assert c.credited_rank == [1, 4]


def test_bootstrap_ci_brackets_the_mean_and_randomisation_detects_a_shift() -> None:
    a = [0.1 * (i % 10) for i in range(60)]
    lo, hi = bootstrap_ci(a)
    assert lo < sum(a) / len(a) < hi
    assert paired_randomisation([x + 0.2 for x in a], a) < 0.01
    assert paired_randomisation(a, a) == 1.0
    noisy = [x + (0.05 if i % 2 else -0.05) for i, x in enumerate(a)]
    assert paired_randomisation(noisy, a) > 0.5
