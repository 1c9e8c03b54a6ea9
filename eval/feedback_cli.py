"""`rag-eval feedback` (generation quality over committed score profiles) and `rag-eval grounding`
(the grounding threshold on hand-labelled pairs: calibration split fixes it, test split reports it)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_PROFILES = Path(__file__).with_name("feedback_profiles.jsonl")


def _write(payload: dict, out: Path | None) -> None:
    payload = {
        "command": " ".join(["rag-eval", *sys.argv[1:]]),
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **payload,
    }
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def register(app: typer.Typer) -> None:
    @app.command("feedback")
    def feedback(
        profiles: Annotated[Path, typer.Option(help="JSONL of score profiles.")] = DEFAULT_PROFILES,
        json_out: Annotated[Path | None, typer.Option("--json", help="Write the full results here.")] = None,
        limit: Annotated[int | None, typer.Option(help="Only the first N profiles.")] = None,
        fallback_only: Annotated[
            bool, typer.Option("--fallback-only", help="Measure the deterministic fallback alone (no LLM).")
        ] = False,
    ) -> None:
        """Citation validity, coverage, grounding, weak-dimension coverage, fallback rate and latency."""
        from api.cli.feedback import feedback_job
        from api.errors import InputError
        from api.settings import get_settings
        from eval.feedback_eval import load_profiles, run

        if not profiles.is_file():
            raise InputError(f"no such profiles file: {profiles}")
        settings = get_settings()
        rows = load_profiles(profiles)[:limit]

        def progress(pid: str, gen: str, m: dict, partial: dict) -> None:
            print(
                f"{pid}: {gen:<8} coverage {m['citation_coverage']:.2f} grounding {m['grounding_rate']} "
                f"weak {m['weak_dimension_coverage']} {m['latency_ms']:.0f} ms",
                file=sys.stderr,
            )
            _write(partial, json_out)  # a long run leaves usable partial results

        with feedback_job(settings, progress=True) as job:
            result = run(job.prepare(), rows, progress=progress, llm=not fallback_only)
        summary = {k: v for k, v in result.items() if k != "per_profile"}
        print(json.dumps(summary, indent=2))
        _write(result, json_out)

    @app.command("grounding")
    def grounding(
        json_out: Annotated[Path | None, typer.Option("--json", help="Write the results here.")] = None,
    ) -> None:
        """Calibrate the grounding threshold on the hand-labelled pairs and report it on the test split."""
        from api.settings import get_settings
        from eval.grounding_pairs import evaluate
        from rag.generation.grounding import GROUNDING_THRESHOLD

        result = evaluate(get_settings())
        result["committed_threshold"] = GROUNDING_THRESHOLD
        print(json.dumps({k: v for k, v in result.items() if k != "scores"}, indent=2))
        _write(result, json_out)
