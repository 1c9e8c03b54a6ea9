"""How a renderer change alters answers already judged: each stored raw answer's steps (eval/preference/
generate.py keeps the model's JSON as ``raw``) through this checkout's sentence filters, compared with the text
that was served. Prints the steps that differ.

    python -m eval.preference.rerender eval/preference/round3/new3.jsonl \\
        --items eval/feedback_profiles.jsonl --items eval/preference/render_items.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from eval.loaders import read_jsonl
from rag.generation.citations import strip_markers
from rag.generation.evidence import build_evidence
from rag.generation.structured import _own_sentences
from scorer.schema import ScoreReport


def _flat(text: str) -> str:
    return " ".join(strip_markers(text).replace(" .", ".").split())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("answers", type=Path)
    parser.add_argument("--items", type=Path, action="append", required=True)
    args = parser.parse_args(argv)
    items = {r["id"]: r for path in args.items for r in read_jsonl(path)}
    steps = changed = emptied = 0
    for answer in read_jsonl(args.answers):
        if not answer.get("raw"):
            continue
        item = items[answer["id"]]
        report = ScoreReport.model_validate(item["report"])
        evidence = build_evidence(report, piece=item.get("piece"), composer=item.get("composer"))
        served = _flat(answer["text"])
        for problem, raw in zip(
            evidence.problems, json.loads(answer["raw"]).get("problems", []), strict=False
        ):
            steps += 1
            now = _own_sentences(str(raw.get("step", "")), problem)
            if now and _flat(now) in served:
                continue
            if not now and problem.name in served and "listening only for the " + problem.name in served:
                continue  # Cadenza's own step was served then too
            changed += 1
            emptied += not now
            print(f"{answer['id']}: {raw.get('step')!r}\n  -> {now!r}")
    print(f"{steps} steps, {changed} render differently now ({emptied} give way to Cadenza's own step)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
