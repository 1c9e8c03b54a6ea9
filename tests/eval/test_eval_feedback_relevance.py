"""eval/feedback_relevance.py: quotes pulled from `rag-eval feedback` files, blinded, labels joined back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.feedback_relevance import blind, main, quotes_of, score


def _results(path: Path, quotes: dict[str, str]) -> Path:
    lines = ["Strength: your depth of tone is the best of your quality scores (very good)."]
    lines += [
        f"{name} is weak, especially at 0:10–0:18: practise those passages slowly with this advice from "
        f'A. Teacher in mind, "{q}" [{i}].'
        for i, (name, q) in enumerate(quotes.items(), start=1)
    ]
    profile = {"id": "p00", "weak": ["pedal_clarity", "balance"], "fallback_text": "\n".join(lines)}
    path.write_text(json.dumps({"per_profile": [profile]}), encoding="utf-8")
    return path


def test_blind_then_score(tmp_path: Path) -> None:
    a = _results(
        tmp_path / "a.json",
        {
            "Clean pedalling": "Lift the pedal at each new chord.",
            "Balance between the hands": "Chopin wrote a fine melody.",
        },
    )
    b = _results(
        tmp_path / "b.json",
        {
            "Clean pedalling": "Lift the pedal at each new chord.",
            "Balance between the hands": "Subdue the accompaniment.",
        },
    )
    assert [r["quote"] for r in quotes_of(a)] == [
        "Lift the pedal at each new chord.",
        "Chopin wrote a fine melody.",
    ]
    out = tmp_path / "pairs.jsonl"
    assert blind([a, b], out) == 3  # the shared pedal quote is judged once
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(r["on_topic"] is None and "file" not in r for r in rows)
    for r in rows:
        r["on_topic"] = "Chopin" not in r["quote"]
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = score([a, b], out)
    assert [r["on_topic_rate"] for r in report] == [0.5, 1.0]


def test_unlabelled_or_malformed_labels_fail_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _results(
        tmp_path / "a.json", {"Clean pedalling": "Lift the pedal.", "Balance between the hands": "Voice it."}
    )
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        json.dumps({"key": "x", "dimension": "balance", "quote": "q", "on_topic": "yes"}) + "\n"
    )
    assert main(["score", str(a), "--labels", str(labels)]) == 2
    assert "labels.jsonl:1: on_topic must be true or false" in capsys.readouterr().err
    labels.write_text("")
    assert main(["score", str(a), "--labels", str(labels)]) == 2
    assert "have no label" in capsys.readouterr().err
