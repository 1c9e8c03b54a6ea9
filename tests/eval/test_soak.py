"""The 2-minute soak (eval/soak.py) against a real `cadenza serve` with the local LLM: mixed traffic, two
SIGKILLs and restarts. Only the correctness checks are asserted (memory is printed, never checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.llm]


def test_two_minute_soak_keeps_its_guarantees(
    tmp_path: Path, shared_dir: Path, embedding_cache_dir: Path
) -> None:
    out = tmp_path / "soak.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "eval.soak",
            "--minutes",
            "2",
            "--books",
            "1",
            "--kills",
            "2",
            "--clients",
            "4",
            "--seed",
            "1",
            "--cache",
            str(embedding_cache_dir),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=1500,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.is_file(), run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads(out.read_text())
    print(json.dumps({k: results[k] for k in ("kills", "requests", "statuses", "rss_mb")}, indent=1))
    assert results["checks"] == {
        "no_5xx": True,
        "no_stuck_job": True,
        "every_failure_has_a_reason": True,
        "indexes_consistent": True,
        "no_orphans": True,
    }, results
    assert len(results["kills"]) == 2 and results["uploads_accepted"] > 0
    assert sum(results["requests"].values()) >= 20, results["requests"]
    assert run.returncode == 0
