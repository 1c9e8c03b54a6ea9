"""Re-grade saved rankings (``rag-eval run --rankings FILE``) against judgements that have grown since, without
searching again: after a pool adds judged passages (``eval.feedback_pool``), every system is scored on the
same fuller judgements from the rankings it already produced.

    python -m eval.regrade --qrels eval/sets/feedback_qrels.jsonl --rankings RUN.jsonl \\
        [--split eval/sets/feedback_split.json] [--corpus ../shared/corpus/texts]

Prints nDCG@10, Recall@5/10 and MRR@10 per system, over all queries and per split part. A query of the
judgements that a system has no ranking for counts as all zeros (it was not searched).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from api.errors import InputError
from eval.credit import RankedItem
from eval.loaders import load_spans, read_jsonl
from eval.metrics import all_metrics
from eval.runner import credit
from eval.split import load_split

METRICS = ("ndcg@10", "recall@5", "recall@10", "mrr@10")


def regrade(qrels: Path, rankings: Path, corpus: Path) -> dict[str, dict[str, dict[str, float]]]:
    """system -> query_id -> metrics, for every query of ``qrels``."""
    evalset = load_spans(qrels, corpus)
    saved: dict[str, dict[str, list[RankedItem]]] = defaultdict(dict)
    for row in read_jsonl(rankings):
        saved[row["system"]][row["query_id"]] = [RankedItem(*item) for item in row["ranking"]]
    out: dict[str, dict[str, dict[str, float]]] = {}
    for system, by_query in saved.items():
        out[system] = {
            q.query_id: all_metrics(
                credit(q, by_query.get(q.query_id, []), id_kind=evalset.id_kind, chunk_half=False)
            )
            for q in evalset.queries
        }
    return out


def table(scores: dict[str, dict[str, dict[str, float]]], parts: Mapping[str, str] | None) -> str:
    groups = ["all"] + (sorted(set(parts.values())) if parts else [])
    head = "| system | " + " | ".join(f"{g} {m}" for g in groups for m in METRICS[:1]) + " | "
    head += " | ".join(METRICS[1:]) + " |"
    lines = [head, "|" + "---|" * (1 + len(groups) + len(METRICS) - 1)]
    for system, by_query in scores.items():
        cells = []
        for g in groups:
            ids = [q for q in by_query if g == "all" or (parts or {}).get(q) == g]
            cells.append(f"{np.mean([by_query[q]['ndcg@10'] for q in ids]):.3f}")
        cells += [f"{np.mean([m[k] for m in by_query.values()]):.3f}" for k in METRICS[1:]]
        lines.append(f"| {system} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.regrade")
    parser.add_argument("--qrels", type=Path, required=True, help="span judgements (JSONL)")
    parser.add_argument("--rankings", type=Path, required=True, help="rag-eval run --rankings output")
    parser.add_argument("--split", type=Path, default=None, help="tune/check split JSON")
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpus/texts"))
    args = parser.parse_args(argv)
    try:
        scores = regrade(args.qrels, args.rankings, args.corpus)
        parts = load_split(args.split) if args.split else None
    except (InputError, OSError, ValueError, KeyError, TypeError) as exc:
        print(f"regrade: {exc}", file=sys.stderr)
        return 2
    print(table(scores, parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
