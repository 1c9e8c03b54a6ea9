"""The fixed tune/check split of the dev queries, decided by a hash of the query id before any tuning."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

SPLIT_FILE = Path(__file__).with_name("splits") / "piano_qrels_dev_split.json"
Part = Literal["tune", "check"]


def _key(query_id: str) -> str:
    return hashlib.sha256(query_id.encode()).hexdigest()


def make_split(query_ids: list[str]) -> dict[Part, list[str]]:
    """Sort the ids by SHA-256 and cut in half: balanced, stable, blind to the query text and file order."""
    ordered = sorted(query_ids, key=_key)
    half = (len(ordered) + 1) // 2
    return {"tune": sorted(ordered[:half]), "check": sorted(ordered[half:])}


def load_split(path: Path = SPLIT_FILE) -> dict[str, Part]:
    """query_id -> part, from the committed file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {qid: part for part in ("tune", "check") for qid in data[part]}
