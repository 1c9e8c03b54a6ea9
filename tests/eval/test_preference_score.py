"""The blind preference test's packets and scoring (eval/preference/): the A/B key is a seeded shuffle the
packets follow, the reviewer's packet shows scores and answers but not which system wrote which, and the
win rate's bootstrap interval brackets it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.preference.packets import build, seal
from eval.preference.score import score, win_rate

PROFILES = Path(__file__).parents[2] / "eval" / "feedback_profiles.jsonl"


def _items(n: int = 6) -> list[dict]:
    return [json.loads(x) for x in PROFILES.read_text(encoding="utf-8").splitlines()[:n]]


def test_seal_is_seeded_and_mixes_a_and_b():
    ids = [f"p{i:02d}" for i in range(24)]
    assert seal(ids) == seal(list(reversed(ids)))  # order of the input does not matter
    assert 6 <= sum(v == "A" for v in seal(ids).values()) <= 18
    assert seal(ids, seed=1) != seal(ids, seed=2)


def test_packets_hide_the_systems_and_follow_the_key():
    items = _items()
    old = {it["id"]: {"id": it["id"], "text": f"OLD answer {it['id']} [1].", "citations": []} for it in items}
    new = {it["id"]: {"id": it["id"], "text": f"NEW answer {it['id']} [1].", "citations": []} for it in items}
    packets, key = build(items, old, new)
    assert set(key["new_is"]) == {it["id"] for it in items}
    for section in packets.split("\n## ")[1:]:
        pid = section.split("\n", 1)[0]
        a = section.split("### Answer A", 1)[1].split("### Answer B", 1)[0]
        assert ("NEW" in a) == (key["new_is"][pid] == "A")
        headings = [line for line in section.splitlines() if line.startswith("#")]
        assert headings == ["### The performance's scores", "### Answer A", "### Answer B"]
        assert "Quality scales" in section and "Weak spots" in section


def test_score_maps_picks_through_the_key():
    key = {"new_is": {"p00": "A", "p01": "B", "Beethoven_WoO80_var8_8bars_1_6": "A"}}
    picks = [
        {"id": "p00", "pick": "A"},
        {"id": "p01", "pick": "A"},
        {"id": "Beethoven_WoO80_var8_8bars_1_6", "pick": "A"},
    ]
    result = score(picks, key)
    assert result["all"]["new_wins"] == 2 and result["profiles"]["n"] == 2 and result["renders"]["n"] == 1
    with pytest.raises(ValueError):
        score([{"id": "p00", "pick": "tie"}], key)


def test_win_rate_interval_brackets_the_rate():
    r = win_rate([True] * 24 + [False] * 10, n_boot=2000)
    assert r["win_rate"] == pytest.approx(24 / 34, abs=0.001)
    lo, hi = r["ci95"]
    assert lo < r["win_rate"] < hi and hi - lo < 0.4
