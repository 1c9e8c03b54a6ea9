"""Is the advice quoted for a weak dimension about that dimension? Hand judgements, made blind.

Grounding says a sentence comes from its passage, not that the passage speaks to the student's problem
("the most beautiful melody Chopin ever wrote" is perfectly grounded advice on nothing). This tool takes
`rag-eval feedback` result files, pulls each fallback line's quote per weak dimension, and

* ``blind``: writes the distinct (dimension, quote) pairs, shuffled, without saying which file they came
  from, for a person to label ``on_topic`` true/false;
* ``score``: joins those labels back and reports, per file, the share of weak-dimension quotes on topic.

    python -m eval.feedback_relevance blind A.json B.json --out labels.jsonl
    python -m eval.feedback_relevance score A.json B.json --labels labels.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from pathlib import Path

from rag.generation.dimension_words import plain_name

_QUOTE = re.compile(r'"(.+)" \[\d+\]\.?$')


def quotes_of(result_file: Path) -> list[dict]:
    """(profile, dimension, quote) for each weak-dimension line of each fallback answer in the file."""
    data = json.loads(result_file.read_text(encoding="utf-8"))
    rows = []
    for profile in data["per_profile"]:
        lines = profile["fallback_text"].splitlines()
        for name in profile["weak"]:
            head = plain_name(name).capitalize()
            line = next((ln for ln in lines if ln.startswith(head)), None)
            match = _QUOTE.search(line) if line else None
            rows.append(
                {"profile": profile["id"], "dimension": name, "quote": match.group(1) if match else None}
            )
    return rows


def pair_key(dimension: str, quote: str) -> str:
    return hashlib.sha256(f"{dimension}\n{quote}".encode()).hexdigest()[:16]


def blind(files: list[Path], out: Path, seed: int = 0) -> int:
    pairs = {
        pair_key(r["dimension"], r["quote"]): {"dimension": r["dimension"], "quote": r["quote"]}
        for f in files
        for r in quotes_of(f)
        if r["quote"]
    }
    rows = [{"key": k, **v, "on_topic": None} for k, v in sorted(pairs.items())]
    random.Random(seed).shuffle(rows)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return len(rows)


def score(files: list[Path], labels_file: Path) -> list[dict]:
    labels = {}
    for n, line in enumerate(labels_file.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            row = json.loads(line)
            if not isinstance(row.get("on_topic"), bool):
                raise ValueError(f"{labels_file}:{n}: on_topic must be true or false")
            labels[row["key"]] = row["on_topic"]
    report = []
    for f in files:
        rows = quotes_of(f)
        missing = [r for r in rows if r["quote"] and pair_key(r["dimension"], r["quote"]) not in labels]
        if missing:
            raise ValueError(f"{f}: {len(missing)} quotes have no label (run `blind` again and label them)")
        judged = [labels[pair_key(r["dimension"], r["quote"])] if r["quote"] else False for r in rows]
        report.append(
            {
                "file": str(f),
                "weak_dimension_quotes": len(rows),
                "on_topic": sum(judged),
                "on_topic_rate": round(sum(judged) / len(rows), 4) if rows else None,
            }
        )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eval.feedback_relevance", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("blind", help="write the quotes to label, shuffled, sources hidden")
    b.add_argument("files", nargs="+", type=Path)
    b.add_argument("--out", type=Path, required=True)
    s = sub.add_parser("score", help="on-topic rate per file from the labels")
    s.add_argument("files", nargs="+", type=Path)
    s.add_argument("--labels", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "blind":
            print(f"{blind(args.files, args.out)} pairs to label in {args.out}")
        else:
            for row in score(args.files, args.labels):
                print(json.dumps(row))
    except (OSError, ValueError, KeyError) as err:
        print(f"feedback_relevance: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
