"""Score the blind preference picks: the NEW feedback's win rate with a percentile bootstrap 95% interval.

python -m eval.preference.score [--picks eval/preference/picks.jsonl] [--key eval/preference/key.sealed.json]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

HERE = Path(__file__).parent


def win_rate(wins: list[bool], n_boot: int = 10_000, seed: int = 18) -> dict:
    """Share of True with a percentile bootstrap 95% interval over packets."""
    if not wins:
        return {"n": 0, "new_wins": 0, "win_rate": None, "ci95": None}
    rng = random.Random(seed)
    n = len(wins)
    boot = sorted(sum(wins[rng.randrange(n)] for _ in range(n)) / n for _ in range(n_boot))
    return {
        "n": n,
        "new_wins": sum(wins),
        "win_rate": round(sum(wins) / n, 3),
        "ci95": [round(boot[int(0.025 * n_boot)], 3), round(boot[int(0.975 * n_boot) - 1], 3)],
    }


def score(picks: list[dict], key: dict) -> dict:
    new_is = key["new_is"]
    unknown = [p["id"] for p in picks if p["id"] not in new_is]
    if unknown:
        raise ValueError(f"picks for packets not in the key: {unknown}")
    bad = [p["id"] for p in picks if p["pick"] not in ("A", "B")]
    if bad:
        raise ValueError(f"picks must be A or B: {bad}")
    rows = [(p["id"], p["pick"] == new_is[p["id"]]) for p in picks]
    return {
        "all": win_rate([w for _, w in rows]),
        "profiles": win_rate([w for i, w in rows if not _is_render(i)]),
        "renders": win_rate([w for i, w in rows if _is_render(i)]),
        "unreviewed": sorted(set(new_is) - {p["id"] for p in picks}),
    }


def _is_render(item_id: str) -> bool:
    return "_8bars_" in item_id or "_16bars_" in item_id


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--picks", type=Path, default=HERE / "picks.jsonl")
    parser.add_argument("--key", type=Path, default=HERE / "key.sealed.json")
    args = parser.parse_args(argv)
    picks = [json.loads(x) for x in args.picks.read_text(encoding="utf-8").splitlines() if x.strip()]
    key = json.loads(args.key.read_text(encoding="utf-8"))
    print(json.dumps(score(picks, key), indent=1))


if __name__ == "__main__":
    main()
