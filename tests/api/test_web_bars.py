"""The page's note-level module (api/web/static/js/bars.js: heat map layout, bar severity, tempo curve
geometry, note errors in words) under node's test runner, fed a report built from the schema and dumped
as the REST API sends it. The page in a real browser with a real upload: tests/api/test_web_score_browser.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from scorer.schema import BarReport, Curves, LoudnessPoint, NoteError, ScoreReport, TempoPoint

REPO = Path(__file__).resolve().parents[2]


def _report() -> ScoreReport:
    bar = dict(expected=8, onset_dev_ms=12.0, tempo_bpm=96.0, velocity_mean=64.0)
    return ScoreReport(
        duration_s=20.0,
        backend="embedded",
        dimensions=[],
        windows=[],
        weak_spots=[],
        strengths=[],
        bars=[
            BarReport(
                bar=1, start_s=0.0, end_s=2.0, matched=8, missed=0, extra=0, wrong=0, tempo_ratio=1.0, **bar
            ),
            BarReport(
                bar=2,
                start_s=2.0,
                end_s=3.6,
                matched=8,
                missed=0,
                extra=0,
                wrong=0,
                tempo_ratio=1.18,
                flags=["rushed"],
                **bar,
            ),
            BarReport(
                bar=5,
                start_s=4.0,
                end_s=6.0,
                matched=4,
                missed=1,
                extra=1,
                wrong=2,
                tempo_ratio=0.97,
                flags=["wrong_notes", "missed_notes", "extra_notes"],
                **bar,
            ),
            BarReport(bar=2, pass_=2, start_s=9.5, end_s=11.0, matched=8, missed=0, extra=0, wrong=0, **bar),
        ],
        note_errors=[
            NoteError(type="wrong", bar=5, beat=2.0, time_s=4.6, expected_pitch=66, played_pitch=65),
            NoteError(type="missed", bar=5, beat=3.5, time_s=5.2, expected_pitch=69, played_pitch=None),
            NoteError(
                type="extra", bar=2, beat=1.0, time_s=9.5, expected_pitch=None, played_pitch=72, pass_=2
            ),
            NoteError(type="extra", bar=None, beat=None, time_s=12.3, expected_pitch=None, played_pitch=62),
        ],
        curves=Curves(
            tempo=[
                TempoPoint(time_s=t, bpm=b)
                for t, b in [(0, 96), (2, 100), (3, 118), (4, 2000), (6, 92), (11, 96)]
            ],
            loudness=[
                LoudnessPoint(time_s=t, db=d) for t, d in [(0, -42.0), (1, -20.5), (2, -12.0), (3, -30.0)]
            ],
        ),
    )


def test_bars_module_under_node(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "node is not installed (.ci/setup.d/40-browser.sh installs it)"
    payload = _report().model_dump(mode="json")
    assert "pass" in payload["bars"][0] and "pass_" not in payload["bars"][0]  # the key the page reads
    fixture = tmp_path / "fixture.json"
    fixture.write_text(json.dumps({"report": payload}))
    run = subprocess.run(
        [node, "--test", str(REPO / "tests/browser/unit/bars.test.mjs")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CADENZA_WEB_FIXTURE": str(fixture)},
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert re.search(r"^# pass [1-9]", run.stdout, flags=re.M) and re.search(
        r"^# fail 0", run.stdout, flags=re.M
    )
