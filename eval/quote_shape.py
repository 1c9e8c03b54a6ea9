"""Do the book quotes feedback gives read as whole sentences? For each problem of the preference items (the 24
committed profiles and the 10 PercePiano renders), the passage `find_sources` picks and the quote
`quote_sentence` writes (no LLM), counted mechanically: quotes that begin inside a sentence (first letter
lower-case), that stop on ";", ":" or ",", and that carry "…".

    python -m eval.quote_shape --home DATA_HOME [--out quotes.json]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from api.settings import Settings
from eval.loaders import read_jsonl
from rag.generation.evidence import build_evidence
from rag.generation.feedback import FeedbackService
from rag.generation.structured import quote_sentence
from rag.generation.structured_feedback import evidence_queries, find_sources
from rag.retrieval.retriever import Retriever
from scorer.schema import ScoreReport

ITEMS = (Path("eval/feedback_profiles.jsonl"), Path("eval/preference/render_items.jsonl"))
_QUOTED = re.compile(r'writes: "(.*)" \[\d+\]\.$')


def quotes(home: Path) -> list[dict[str, object]]:
    settings = Settings(home=home)
    service = FeedbackService(settings.generation_config(), Retriever.open(settings.retrieval_config()))
    rows: list[dict[str, object]] = []
    for path in ITEMS:
        for item in read_jsonl(path):
            report = ScoreReport.model_validate(item["report"])
            evidence = build_evidence(report, piece=item.get("piece"), composer=item.get("composer"))
            queries = evidence_queries(evidence, piece=item.get("piece"), composer=item.get("composer"))
            for i, passage in enumerate(find_sources(service, queries).passages):
                if passage is not None:
                    rows.append({"item": item["id"], "problem": i, "quote": quote_sentence(passage)})
    return rows


def shape(quote: str) -> dict[str, bool]:
    text = match.group(1) if (match := _QUOTED.search(quote)) else quote
    first = re.search(r"[A-Za-z]", text)
    return {
        "begins_inside": bool(first and first.group().islower()),
        "stops_on_clause_mark": text.endswith((";", ":", ",")),
        "marked_cut": text.startswith("… ") or text.endswith(" …"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.quote_shape", description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="a data home with the corpus indexed")
    parser.add_argument("--out", type=Path, default=None, help="write the quotes here (JSON)")
    args = parser.parse_args(argv)
    rows = quotes(args.home)
    counts = {k: sum(shape(str(r["quote"]))[k] for r in rows) for k in shape("").keys()}
    print(
        f"{len(rows)} quotes ({len({r['quote'] for r in rows})} distinct): "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
