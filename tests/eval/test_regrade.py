"""eval.regrade: saved rankings re-graded against the judgements give what the run itself reported."""

from __future__ import annotations

import json
from pathlib import Path

from eval import regrade


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_ranking_is_credited_once_per_judged_span_and_a_missing_one_counts_zero(tmp_path: Path) -> None:
    corpus = tmp_path / "texts"
    corpus.mkdir()
    text = "Pedal with the harmony, not before it. " * 3 + "Count aloud while you practise the bar slowly."
    (corpus / "book.txt").write_text(text)
    quote = "Count aloud while you practise the bar slowly."
    start = text.index(quote)
    qrels = _write(
        tmp_path / "q.jsonl",
        [
            {
                "query_id": "q1",
                "query": "rushing",
                "relevant": [{"source": "book", "quote": quote, "grade": 2}],
            },
            {
                "query_id": "q2",
                "query": "pedal",
                "relevant": [{"source": "book", "quote": text[:38], "grade": 1}],
            },
        ],
    )
    rankings = _write(
        tmp_path / "r.jsonl",
        [
            # the judged span at rank 2, behind an unjudged one; q2 has no ranking for this system
            {
                "system": "s",
                "query_id": "q1",
                "ranking": [["c0", "book", 0, 10], ["c1", "book", start, len(text)]],
            },
        ],
    )
    scores = regrade.regrade(qrels, rankings, corpus)
    assert scores["s"]["q1"]["mrr@10"] == 0.5 and scores["s"]["q1"]["recall@5"] == 1.0
    assert scores["s"]["q2"]["ndcg@10"] == 0.0
    assert "| s | 0." in regrade.table(scores, None)


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    assert (
        regrade.main(["--qrels", str(tmp_path / "none.jsonl"), "--rankings", str(tmp_path / "r.jsonl")]) == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("regrade:") and err.count("\n") == 1
