"""The preference answers' copying and coverage measures (eval/preference/measures.py): Cadenza's own heads are
not counted as the model's words, a sentence copied from the passage it cites counts as copied, and an
uncited advice sentence lowers coverage."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from eval.preference.measures import measure, own_text, structured_heads

PROFILES = Path(__file__).parents[2] / "eval" / "feedback_profiles.jsonl"
PASSAGE = (
    "The pedal should be changed exactly at the moment the new harmony is struck, never before it, "
    "so that the tones of the old chord do not blur into the new one."
)


def _item() -> dict:
    rows = [json.loads(x) for x in PROFILES.read_text(encoding="utf-8").splitlines()]
    return next(r for r in rows if structured_heads(r))  # a profile with at least one problem


def _db(tmp_path: Path) -> Path:
    db = tmp_path / "cadenza.db"
    con = sqlite3.connect(db)
    con.execute("create table chunks (chunk_id text, text text)")
    con.execute("insert into chunks values ('book:0001', ?)", (PASSAGE,))
    con.commit()
    con.close()
    return db


def test_own_text_drops_cadenzas_heads_and_labels():
    item = _item()
    head = structured_heads(item)[0]
    quote = 'Karl Wilson Gehrkens writes: "_i.e._, subdue the accompaniment so that the melody may stand out." [1].'
    text = f"Strength: Your tone was warm and full all through.\n\n{head} Practise it slowly [1]. {quote}"
    own = own_text(text, item, "structured", [{"n": 1, "author": "Karl Wilson Gehrkens"}])
    assert head not in own and "Strength:" not in own and "writes:" not in own  # the quote is Cadenza's
    assert "Practise it slowly [1]." in own
    assert "Your tone was warm" in own
    model_quoting = (
        'As Karl Wilson Gehrkens writes: "subdue the accompaniment" [1].'  # the model's, not Cadenza's
    )
    assert model_quoting in own_text(
        f"{head} {model_quoting}", item, "structured", [{"author": "Karl Wilson Gehrkens"}]
    )


def test_copied_and_uncited_sentences_are_counted(tmp_path):
    item = _item()
    head = structured_heads(item)[0]
    copied = (
        "The pedal should be changed exactly at the moment the new harmony is struck, never before it [1]."
    )
    uncited = "Practise the left hand alone and listen for every change of harmony in these bars."
    own_words = "Listen to where the harmony changes and lift the foot there, then press it again [1]."
    answer = {
        "id": item["id"],
        "generator": "llm",
        "text": f"Strength: Your tone was warm and full all through.\n\n{head} {copied} {uncited} {own_words}",
        "citations": [{"n": 1, "chunk_id": "book:0001"}],
        "grounding_rate": 0.5,
        "wall_s": 1.0,
    }
    fallback = {**answer, "id": "other", "generator": "fallback"}
    out = measure([answer, fallback], {item["id"]: item}, "structured", _db(tmp_path), set())["summary"]
    assert out["llm_answers"] == 1 and out["fallback_answers"] == 1
    assert out["model_sentences"] == 4  # strength, copied, uncited, own words; the head is Cadenza's
    assert out["copied_cited_run"] == 1
    assert out["advice_sentences"] == 3 and out["advice_cited_share"] == round(2 / 3, 3)
    assert out["strict_pairs"] == 2
