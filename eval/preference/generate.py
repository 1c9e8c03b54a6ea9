"""Feedback for the preference test (and the grounding pairs): every item of an input JSONL through one
checkout's feedback job, written as JSONL with each citation's passage located in the corpus.

Runs against whichever checkout is first on ``sys.path`` (the old one from a git worktree, the new one from
main), so it uses only the job API both share: ``feedback_job(settings)``, ``prepare()``, ``generate()``.
Input rows: ``{id, report (ScoreReport JSON), piece?, composer?, level?}`` (eval/feedback_profiles.jsonl
has this shape). Resumable: ids already in the output are skipped, so a long run can be stopped and
continued.

    CADENZA_HOME=... python eval/preference/generate.py IN.jsonl OUT.jsonl [--ids p00,p01]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from pathlib import Path


def _passages(db: Path, chunk_ids: list[str]) -> dict[str, dict]:
    """Document slug and character range of each chunk (the passage is referenced, never copied)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        out = {}
        for cid in chunk_ids:
            row = con.execute(
                "select d.slug, c.char_start, c.char_end from chunks c join documents d "
                "on c.document_id = d.document_id where c.chunk_id = ?",
                (cid,),
            ).fetchone()
            if row:
                out[cid] = {"slug": row[0], "char_start": row[1], "char_end": row[2]}
        return out
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--ids", default=None, help="Comma-separated ids to run (default: all).")
    parser.add_argument("--fallback", action="store_true", help="The deterministic fallback alone (no LLM).")
    args = parser.parse_args(argv)

    from api.cli.feedback import feedback_job
    from api.settings import get_settings
    from scorer.schema import ScoreReport

    rows = [json.loads(line) for line in args.inputs.read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.ids:
        wanted = set(args.ids.split(","))
        rows = [r for r in rows if r["id"] in wanted]
    done = set()
    if args.output.exists():
        done = {
            json.loads(line)["id"] for line in args.output.read_text(encoding="utf-8").splitlines() if line
        }
    settings = get_settings()
    with feedback_job(settings, progress=False) as job, args.output.open("a", encoding="utf-8") as out:
        job.prepare()
        for row in rows:
            if row["id"] in done:
                continue
            report = ScoreReport.model_validate(row["report"])
            t = time.perf_counter()
            result = (
                job.fallback(report, piece=row.get("piece"), composer=row.get("composer"))
                if args.fallback
                else job.generate(
                    report, piece=row.get("piece"), composer=row.get("composer"), level=row.get("level")
                )
            )
            located = _passages(settings.home / "cadenza.db", [c.chunk_id for c in result.citations])
            record = {
                "id": row["id"],
                "generator": result.generator,
                "model": result.model,
                "llm_error": result.llm_error,
                "text": result.text,
                "grounding_rate": result.grounding_rate,
                "citations": [
                    {**c.model_dump(mode="json"), "passage": located.get(c.chunk_id)}
                    for c in result.citations
                ],
                "wall_s": round(time.perf_counter() - t, 1),
                # the model's answer before rendering and the citation gate (checkouts without a trace: None)
                "raw": getattr(getattr(result, "trace", None), "raw_text", None),
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
            print(f"{row['id']}: {result.generator} {record['wall_s']} s", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
