"""Build the blind preference packets (eval/preference/INSTRUCTIONS.md).

Inputs: the items (score profiles and PercePiano renders: ``{id, piece?, composer?, report}``) and two
feedback JSONL files, OLD and NEW, written by eval/preference/generate.py (``{id, text, citations}``).
Outputs: ``packets.md`` (what the reviewer reads: scores and answers A/B, nothing else) and
``key.sealed.json`` (which of A/B is new, per id), made by a seeded shuffle; the reviewer never opens it.

    python -m eval.preference.packets --items eval/feedback_profiles.jsonl --items eval/preference/render_items.jsonl \\
        --old eval/preference/old.jsonl --new eval/preference/new.jsonl --out eval/preference
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

SEED = 1818


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def _name(dimension: str) -> str:
    return dimension.replace("_", " ")


def render_scores(item: dict) -> str:
    """The performance as the reviewer sees it: piece, quality scales, weak spots and strengths."""
    report = item["report"]
    lines = []
    if item.get("piece") or item.get("composer"):
        lines.append(f"Piece: {item.get('piece') or '?'} ({item.get('composer') or '?'})")
    if item.get("level"):
        lines.append(f"Level: {item['level']}")
    lines.append(f"Duration: {report.get('duration_s', 0):.0f} s")
    quality = [
        d for d in report["dimensions"] if d.get("kind") == "quality" and d.get("goodness") is not None
    ]
    quality.sort(key=lambda d: d["goodness"])
    lines.append("Quality scales (0 = poor, 1 = excellent; weakest first):")
    for d in quality:
        pct = f", percentile {d['percentile']:.0f}" if d.get("percentile") is not None else ""
        lines.append(f"  - {_name(d['name'])}: {d['goodness']:.2f}{pct}")
    lines.append("Weak spots found by the scorer:")
    for spot in report.get("weak_spots") or [] or [None]:
        if spot is None:
            lines.append("  - none")
            continue
        bars = spot.get("bars") or []
        where = f"{_clock(spot['start_s'])}–{_clock(spot['end_s'])}"
        if bars:
            where += f" (bars {bars[0]}–{bars[-1]})"
        lines.append(f"  - {_name(spot['dimension'])} at {where}: {spot.get('reason', '')}")
    strengths = report.get("strengths") or []
    if strengths:
        lines.append("Strengths: " + "; ".join(s.get("reason") or _name(s["dimension"]) for s in strengths))
    return "\n".join(lines)


def render_answer(answer: dict) -> str:
    lines = [answer["text"].strip(), ""]
    cites = answer.get("citations") or []
    if cites:
        lines.append("Sources:")
        for c in cites:
            who = f" — {c['author']}" if c.get("author") else ""
            lines.append(f"  [{c['n']}] {c.get('title', '?')}{who}")
    else:
        lines.append("Sources: none")
    return "\n".join(lines)


def seal(ids: list[str], seed: int = SEED) -> dict[str, str]:
    """Which label (A or B) the NEW answer gets, per id: a seeded coin per id in sorted order."""
    rng = random.Random(seed)
    return {i: ("A" if rng.random() < 0.5 else "B") for i in sorted(ids)}


def build(
    items: list[dict], old: dict[str, dict], new: dict[str, dict], seed: int = SEED
) -> tuple[str, dict]:
    ready = [it for it in items if it["id"] in old and it["id"] in new]
    key = seal([it["id"] for it in ready], seed)
    out = ["# Preference packets (read INSTRUCTIONS.md first; pick A or B for each)", ""]
    for it in ready:
        a, b = (new, old) if key[it["id"]] == "A" else (old, new)
        out += [
            f"## {it['id']}",
            "",
            "### The performance's scores",
            "",
            render_scores(it),
            "",
            "### Answer A",
            "",
            render_answer(a[it["id"]]),
            "",
            "### Answer B",
            "",
            render_answer(b[it["id"]]),
            "",
        ]
    return "\n".join(out), {"seed": seed, "new_is": key}


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=Path, action="append", required=True)
    parser.add_argument("--old", type=Path, required=True)
    parser.add_argument("--new", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args(argv)
    items = [row for path in args.items for row in _jsonl(path)]
    old = {r["id"]: r for r in _jsonl(args.old)}
    new = {r["id"]: r for r in _jsonl(args.new)}
    packets, key = build(items, old, new)
    (args.out / "packets.md").write_text(packets, encoding="utf-8")
    (args.out / "key.sealed.json").write_text(json.dumps(key, indent=1) + "\n", encoding="utf-8")
    missing = [it["id"] for it in items if it["id"] not in old or it["id"] not in new]
    print(f"{len(key['new_is'])} packets; missing old or new for {len(missing)}: {', '.join(missing)}")


if __name__ == "__main__":
    main()
