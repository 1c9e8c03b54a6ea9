"""The shipped embedded model through the service and the CLI: offline, stable, whole recordings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from scorer.dimensions import DIMENSIONS, NAMES
from scorer.inference.model import DEFAULT_WEIGHTS
from scorer.inference.service import Scorer
from scorer.schema import ScoreReport

EXAMPLE = "data/percepiano/examples/Beethoven_WoO80_var27_8bars_3_15.wav"
SNAPSHOT = DEFAULT_WEIGHTS.parent / "example_scores.json"


@pytest.fixture(scope="module")
def scorer(shared_dir: Path, tmp_path_factory) -> Scorer:
    from api.settings import Settings

    return Scorer.load(Settings(home=tmp_path_factory.mktemp("home"), shared_dir=shared_dir).scorer_config())


def test_example_matches_the_snapshot_written_at_training(scorer: Scorer, shared_dir: Path) -> None:
    """The committed weights reproduce what `cadenza scorer train` recorded for this file."""
    report = scorer.score_path(shared_dir / EXAMPLE)
    snap = json.loads(SNAPSHOT.read_text())
    assert report.backend == "embedded"
    got = {d.name: d.score for d in report.dimensions}
    for name in NAMES:
        assert got[name] == pytest.approx(snap["scores"][name], abs=2e-3), name
    again = scorer.score_path(shared_dir / EXAMPLE)
    assert again.model_dump() == report.model_dump()  # deterministic


def test_report_contract(scorer: Scorer, shared_dir: Path) -> None:
    report = scorer.score_path(shared_dir / EXAMPLE, source_name="take1.wav")
    assert report.source == "take1.wav"
    assert [d.name for d in report.dimensions] == list(NAMES)
    for d, dim in zip(report.dimensions, DIMENSIONS, strict=False):
        assert d.kind == dim.kind and d.label == dim.label
        assert 0 <= d.score <= 1 and d.uncertainty > 0 and 0 <= d.percentile <= 100
        assert (d.goodness is None) == (dim.kind == "character")
    for s in report.weak_spots:
        dim = next(x for x in DIMENSIONS if x.name == s.dimension)
        if dim.kind == "quality":  # weak = the undesirable side of the reference median, never "a low number"
            pct = scorer.reference.percentile(dim.index, s.score)
            assert pct >= 50 if dim.desirable == "low" else pct <= 50, (s, pct)
    sev = [s.severity for s in report.weak_spots]
    assert sev == sorted(sev, reverse=True)


def test_five_minute_recording_with_bars(scorer: Scorer, shared_dir: Path, tmp_path: Path) -> None:
    """A 5-minute file: several PercePiano performances joined, the middle one made much worse
    (heavy dynamics flattening + noise); windows cover it and bars are reported."""
    y, sr = sf.read(str(shared_dir / EXAMPLE), dtype="float32", always_2d=True)
    y = y.mean(axis=1)
    parts = []
    rng = np.random.default_rng(0)
    for i in range(21):
        seg = y.copy()
        if 9 <= i <= 11:
            seg = np.tanh(seg * 12) * 0.5 + rng.standard_normal(len(seg)).astype(np.float32) * 0.02
        parts.append(seg)
    long = np.concatenate(parts)
    path = tmp_path / "five_minutes.flac"
    sf.write(str(path), long, sr)
    bars = list(np.arange(0, len(long) / sr, 2.0))
    report = scorer.score_path(path, bars=bars)
    assert report.duration_s == pytest.approx(len(long) / sr, abs=0.05)
    assert len(report.windows) >= 35
    assert report.windows[-1].end_s == pytest.approx(report.duration_s, abs=0.05)
    assert report.weak_spots and all(s.bars for s in report.weak_spots)
    # the altered middle differs from the rest in at least one dimension's window scores
    mids = [w for w in report.windows if 135 < (w.start_s + w.end_s) / 2 < 170]
    rest = [w for w in report.windows if (w.start_s + w.end_s) / 2 < 100]
    diff = max(
        abs(np.mean([w.scores[n] for w in mids]) - np.mean([w.scores[n] for w in rest])) for n in NAMES
    )
    assert diff > 0.05


def test_cli_scores_several_files_as_a_json_list(shared_dir: Path, tmp_path: Path) -> None:
    example = shared_dir / EXAMPLE
    mid = shared_dir / "data/percepiano/performance_midi/Beethoven_WoO80_var27_8bars_3_15.mid"
    proc = subprocess.run(
        [sys.executable, "-m", "api.cli", "score", str(example), str(mid), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert isinstance(payload, list) and len(payload) == 2
    reports = [ScoreReport.model_validate(p) for p in payload]
    assert [r.source for r in reports] == [example.name, mid.name]
    table = subprocess.run(
        [sys.executable, "-m", "api.cli", "score", str(example)], capture_output=True, text=True, timeout=600
    )
    assert table.returncode == 0 and "timing_stability" in table.stdout and "█" in table.stdout
