"""The citation gate's hand-label pairs (eval/grounding/served.py): a rendered answer yields the model's step
sentences with its problem's passage, cited or not; Cadenza's own words (heads, quotes, its stand-in step)
are not the model's; the agreement figures count what they say."""

from __future__ import annotations

import json
from pathlib import Path

from eval.grounding.served import agreement, step_pairs
from eval.preference.measures import structured_heads
from rag.generation.evidence import build_evidence
from rag.generation.structured import CitedPassage, render_problem
from scorer.schema import ScoreReport

PROFILES = Path(__file__).parents[2] / "eval" / "feedback_profiles.jsonl"


def _item() -> dict:
    rows = [json.loads(x) for x in PROFILES.read_text(encoding="utf-8").splitlines()]
    return next(r for r in rows if len(structured_heads(r)) == 2)


def test_step_sentences_come_with_their_passage_and_whether_they_were_cited():
    item = _item()
    evidence = build_evidence(ScoreReport.model_validate(item["report"]))
    first, second = evidence.problems
    passages = [CitedPassage(n, "Some passage text.", "A. Teacher", "Some passage text.") for n in (1, 2)]
    supported = {"Lift the hand at the end of each phrase in those bars."}
    check = lambda pairs: [s in supported for s, _ in pairs]  # noqa: E731 - the gate's verdicts, injected
    parts = [
        render_problem(
            first, {"step": "Lift the hand at the end of each phrase in those bars."}, passages[0], check
        ),
        render_problem(second, {"step": "Count four beats aloud. Then play it twice."}, passages[1], check),
        render_problem(second, {"step": ""}, passages[1], check),  # Cadenza's own step stands in
    ]
    citations = [
        {
            "n": n,
            "chunk_id": f"book:000{n}",
            "author": "A. Teacher",
            "passage": {"slug": "book", "char_start": 0, "char_end": 9},
        }
        for n in (1, 2)
    ]
    answer = {
        "id": item["id"],
        "text": "\n\n".join(["Strength: Good tone all through.", *parts]),
        "citations": citations,
    }
    pairs = step_pairs(answer, item)
    assert [(p["sentence"], p["cited"], p["chunk_id"]) for p in pairs] == [
        ("Lift the hand at the end of each phrase in those bars.", True, "book:0001"),
        ("Count four beats aloud.", False, "book:0002"),
        ("Then play it twice.", False, "book:0002"),
    ]
    assert len({p["id"] for p in pairs}) == 3 and all("writes:" not in p["sentence"] for p in pairs)
    assert "listening only for" in parts[2]  # Cadenza's stand-in step was there, and is not a pair


def test_agreement_counts_the_gate_against_the_labels():
    gate = [True, True, True, False, False]
    label = [True, True, False, True, False]
    out = agreement(gate, label)
    assert (out["tp"], out["fp"], out["fn"], out["tn"]) == (2, 1, 1, 1)
    assert out["cited_supported_share"] == 0.667 and out["uncited_supported_share"] == 0.5
    assert out["accuracy"] == 0.6


def test_scoring_without_labels_is_a_clear_exit(tmp_path):
    from eval.grounding.served import main

    (tmp_path / "pairs.jsonl").write_text('{"id": "s1", "cited": true}\n', encoding="utf-8")
    (tmp_path / "labels.jsonl").write_text("", encoding="utf-8")
    assert main(["score", "--dir", str(tmp_path)]) == 2
