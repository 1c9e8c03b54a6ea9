"""Grow the judged pool of the feedback-query set (eval/sets/JUDGING.md) from rag-eval rankings, and rebuild
its qrels from every judgement.

    python -m eval.feedback_pool pool --rankings RUN.jsonl --systems nomic/dense:10,dense:10 --out DIR
    python -m eval.feedback_pool merge --judged DIR/grades.tsv --passages DIR/passages.jsonl

``pool`` takes each named system's top n per query (``rag-eval run --rankings``), leaves out the passages
already judged (``feedback_judgements.jsonl``), and writes ``DIR/to_judge.txt`` (query, then the new passages
shuffled with a fixed seed, each with a pid and its book title only: no system, rank or score) and, apart,
``DIR/passages.jsonl`` (pid → span and the systems that found it). ``merge`` appends the grades
(``pid<TAB>grade`` lines) to ``feedback_judgements.jsonl`` and the provenance to ``feedback_pool.jsonl``, then
rewrites ``feedback_qrels.jsonl`` from all judgements (grades 1 and 2; a query with none is left out).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from api.errors import InputError
from eval.loaders import read_jsonl

SETS = Path(__file__).with_name("sets")
QUERIES = SETS / "feedback_queries.jsonl"
JUDGEMENTS = SETS / "feedback_judgements.jsonl"
POOL = SETS / "feedback_pool.jsonl"
QRELS = SETS / "feedback_qrels.jsonl"
SEED = 19

Span = tuple[str, int, int]  # source, char_start, char_end


def _append_jsonl(path: Path, rows: Iterable[dict]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def parse_systems(text: str) -> list[tuple[str, int]]:
    """``"nomic/dense:10,dense:5"`` -> [("nomic/dense", 10), ("dense", 5)]."""
    out = []
    for item in text.split(","):
        name, _, depth = item.strip().rpartition(":")
        if not name or not depth.isdigit() or int(depth) < 1:
            raise ValueError(f"system {item!r}: expected NAME:DEPTH")
        out.append((name, int(depth)))
    return out


def judged_spans(judgements: Sequence[dict]) -> set[tuple[str, Span]]:
    return {(j["query_id"], (j["source"], j["char_start"], j["char_end"])) for j in judgements}


def new_candidates(
    rankings: Sequence[dict], systems: Sequence[tuple[str, int]], judged: set[tuple[str, Span]]
) -> dict[str, dict[Span, list[str]]]:
    """query_id -> unjudged span -> the systems whose top n held it."""
    depth = dict(systems)
    out: dict[str, dict[Span, list[str]]] = {}
    for row in rankings:
        n = depth.get(row["system"])
        if n is None:
            continue
        for _, source, start, end in row["ranking"][:n]:
            span = (source, start, end)
            if (row["query_id"], span) in judged:
                continue
            out.setdefault(row["query_id"], {}).setdefault(span, []).append(row["system"])
    return out


def _passage_text(corpus: Path, span: Span) -> str:
    source, start, end = span
    return (corpus / f"{source}.txt").read_text(encoding="utf-8")[start:end]


def _titles(manifest: Path | None) -> dict[str, str]:
    if manifest is None or not manifest.is_file():
        return {}
    from corpus.manifest import read_manifest

    return {stem: entry.title for stem, entry in read_manifest(manifest).items()}


def write_pool(
    candidates: dict[str, dict[Span, list[str]]],
    queries: Sequence[dict],
    corpus: Path,
    out: Path,
    titles: dict[str, str],
) -> int:
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    n = 0
    with (
        (out / "to_judge.txt").open("w", encoding="utf-8") as judge,
        (out / "passages.jsonl").open("w", encoding="utf-8") as provenance,
    ):
        for q in queries:
            spans = sorted(candidates.get(q["query_id"], {}))
            if not spans:
                continue
            rng.shuffle(spans)
            judge.write(f"\n######## {q['query_id']}: {q['query']}\n")
            for span in spans:
                n += 1
                pid = f"n{n:04d}"
                text = _passage_text(corpus, span)
                judge.write(f"\n[{pid}] ({titles.get(span[0], span[0])})\n{' '.join(text.split())}\n")
                row = {"pid": pid, "query_id": q["query_id"], "source": span[0], "char_start": span[1]}
                row |= {"char_end": span[2], "systems": candidates[q["query_id"]][span]}
                provenance.write(json.dumps(row) + "\n")
    return n


def read_grades(path: Path) -> dict[str, int]:
    grades = {}
    for line in path.read_text(encoding="utf-8").split("\n"):
        parts = line.split()
        if len(parts) < 2:
            continue
        if parts[1] not in {"0", "1", "2"}:
            raise ValueError(f"{path}: grade {parts[1]!r} for {parts[0]} is not 0, 1 or 2")
        grades[parts[0]] = int(parts[1])
    return grades


def rebuild_qrels(queries: Sequence[dict], judgements: Sequence[dict], corpus: Path) -> list[dict]:
    relevant: dict[str, list[dict]] = {}
    for j in judgements:
        if j["grade"] >= 1:
            span = (j["source"], j["char_start"], j["char_end"])
            quote = " ".join(_passage_text(corpus, span).split())  # as the span loader reads quotes
            relevant.setdefault(j["query_id"], []).append(
                {"source": j["source"], "quote": quote, "grade": j["grade"]}
            )
    return [
        {
            "query_id": q["query_id"],
            "query": q["query"],
            "dimension": q["dimension"],
            "relevant": relevant[q["query_id"]],
        }
        for q in queries
        if relevant.get(q["query_id"])
    ]


def merge(grades: dict[str, int], passages: Sequence[dict], corpus: Path) -> tuple[int, int]:
    """Append the new judgements and their provenance, rewrite the qrels; (judged added, qrels queries)."""
    missing = [p["pid"] for p in passages if p["pid"] not in grades]
    if missing:
        raise ValueError(f"{len(missing)} passages have no grade (first: {missing[0]})")
    keys = ("query_id", "source", "char_start", "char_end")
    _append_jsonl(JUDGEMENTS, ({k: p[k] for k in keys} | {"grade": grades[p["pid"]]} for p in passages))
    _append_jsonl(POOL, ({k: p[k] for k in keys} | {"systems": p["systems"]} for p in passages))
    qrels = rebuild_qrels(read_jsonl(QUERIES), read_jsonl(JUDGEMENTS), corpus)
    QRELS.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in qrels), encoding="utf-8")
    return len(passages), len(qrels)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.feedback_pool")
    sub = parser.add_subparsers(dest="command", required=True)
    pool = sub.add_parser("pool")
    pool.add_argument("--rankings", type=Path, required=True)
    pool.add_argument("--systems", required=True, help="NAME:DEPTH,... as named in the rankings file")
    pool.add_argument("--out", type=Path, required=True)
    both = [pool, sub.add_parser("merge")]
    both[1].add_argument("--judged", type=Path, required=True, help="pid<TAB>grade lines")
    both[1].add_argument("--passages", type=Path, required=True, help="the pool's passages.jsonl")
    for p in both:
        p.add_argument("--corpus", type=Path, default=Path("../shared/corpus/texts"))
    pool.add_argument("--manifest", type=Path, default=Path("../shared/corpus/MANIFEST.tsv"))
    args = parser.parse_args(argv)
    try:
        if args.command == "pool":
            candidates = new_candidates(
                read_jsonl(args.rankings), parse_systems(args.systems), judged_spans(read_jsonl(JUDGEMENTS))
            )
            n = write_pool(candidates, read_jsonl(QUERIES), args.corpus, args.out, _titles(args.manifest))
            print(f"{n} new passages to judge in {args.out / 'to_judge.txt'}")
        else:
            added, n_queries = merge(read_grades(args.judged), read_jsonl(args.passages), args.corpus)
            print(f"{added} judgements added; {QRELS} has {n_queries} queries")
    except (InputError, OSError, ValueError, KeyError) as exc:
        print(f"feedback_pool: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
