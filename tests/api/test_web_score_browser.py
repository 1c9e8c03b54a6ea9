"""The bar-by-bar part of the page in real headless Chromium against a real `cadenza serve` (issue 17): the
issue's acceptance upload (PercePiano's WoO 80 var. 8 performance with every note between 40% and 55% a
semitone high, as MIDI) with its score; the page shows a heat-map cell per bar (coloured by severity, with
tooltips), choosing a bar seeks the player (which plays the server's render of the MIDI) to that bar's
start, the tempo curve is drawn and the wrong notes are listed with their bars; the same recording without a
score shows only the tempo curve. The feedback that follows scoring is answered 503 inside the browser (not
under test here, and the page must keep the bar map when it fails; the full student flow with feedback is
tests/api/test_web_browser.py). Screenshot: results/web-score.png."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.api.test_score_files_api import PERFORMANCE, SCORE, shifted_performance
from tests.api.test_web_browser import BROWSER_DIR, RESULTS, Server, _env, _require_tools, _run_flow

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_heat_map_seeks_to_a_bar_and_lists_the_wrong_notes(tmp_path: Path, shared_dir: Path) -> None:
    node = _require_tools()
    assert (BROWSER_DIR / "score_flow.mjs").is_file()
    RESULTS.mkdir(exist_ok=True)
    upload = tmp_path / "woo80-var8-semitone-high.mid"
    upload.write_bytes(shifted_performance(shared_dir / PERFORMANCE))
    env = _env(
        tmp_path / "home",
        shared_dir,
        CADENZA_AUTH_ENABLED="false",
        CADENZA_LLM_MODEL="openai/unreachable",
        CADENZA_LLM_API_BASE="http://127.0.0.1:9/v1",
    )
    server = Server(env, RESULTS / "web-score-server.log")
    try:
        report = _run_flow(
            node,
            "score_flow.mjs",
            [
                "--url",
                server.url,
                "--upload",
                str(upload),
                "--score",
                str(shared_dir / SCORE),
                "--screenshot",
                str(RESULTS / "web-score.png"),
                "--timeout-s",
                "600",
            ],
            server,
        )
    finally:
        server.stop()
    assert report["cells"] >= 8  # the 8 bars of the variation, each played once
    assert max(report["levels"]) >= 2 and min(report["levels"]) == 0  # the shifted bars stand out
    assert (
        report["seek"]["level"] >= 2 and abs(report["seek"]["player_s"] - report["seek"]["bar_start_s"]) < 0.3
    )
    assert report["render_note"]  # a MIDI upload plays the server's render
    assert report["bars_summary"].startswith("bars 1–8 played") and "heard by" not in report["bars_summary"]
    assert report["without_score"] == {"bars": False, "notes": False, "tempo": True, "cells": 0}
    wrong = [line for line in report["note_errors"] if "instead of" in line]
    assert wrong and all(
        re.search(r"bar \d+, beat [\d.]+: [A-G](?:##|#|bb|b)?\d instead of [A-G](?:##|#|bb|b)?\d", w)
        for w in wrong
    )
