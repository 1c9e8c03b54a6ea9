"""Performance-to-score alignment on PercePiano's own MIDI: notes paired, bars found in performance time,
from the true MIDI and from the audio's transcription, and one-line errors for bad score files."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from scorer.errors import RecordingError
from scorer.inference.align import align, alignment_features, bar_starts, load_score
from scorer.inference.features import Notes, notes_from_midi

PIECE = "Beethoven_WoO80_var27_8bars"
EXAMPLE = "data/percepiano/examples/Beethoven_WoO80_var27_8bars_3_15.wav"


def _notes(path: Path) -> Notes:
    import pretty_midi

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return notes_from_midi(pretty_midi.PrettyMIDI(str(path)))


@pytest.fixture(scope="module")
def percepiano(shared_dir: Path) -> Path:
    return shared_dir / "data" / "percepiano"


def test_the_score_aligned_to_itself_is_the_identity(percepiano: Path) -> None:
    score = load_score(percepiano / "score_midi" / f"{PIECE}_Score_15.mid")
    alignment = align(score.notes, score.notes)
    assert len(alignment.perf_notes) == len(score.notes.pitch)
    assert (alignment.perf_notes == alignment.score_notes).all()
    assert bar_starts(score.notes, score) == pytest.approx(list(score.downbeats), abs=1e-3)
    assert len(score.downbeats) == 8  # an 8-bar segment


def test_a_human_performance_pairs_its_notes_with_the_score(percepiano: Path) -> None:
    score = load_score(percepiano / "score_midi" / f"{PIECE}_Score_15.mid")
    played = _notes(percepiano / "performance_midi" / f"{PIECE}_3_15.mid")
    alignment = align(played, score.notes)
    paired = played.pitch[alignment.perf_notes] == score.notes.pitch[alignment.score_notes]
    assert paired.all() and len(alignment.perf_notes) >= 0.9 * len(played.pitch)
    bars = bar_starts(played, score)
    assert len(bars) == 8 and bars == sorted(bars)
    assert bars[0] == pytest.approx(played.onset.min(), abs=0.1)  # the first bar starts with the first note
    feats = alignment_features(played, score.notes, alignment, 0.0, float(played.offset.max()))
    assert feats["al_matched_share"] > 0.9 and 0 < feats["al_tempo_jitter"] < 0.5


def test_timing_jitter_raises_the_score_relative_timing_deviation(percepiano: Path) -> None:
    """Onsets shifted at random by ~40 ms: deviation from the locally steady tempo must grow."""
    score = load_score(percepiano / "score_midi" / f"{PIECE}_Score_15.mid")
    played = _notes(percepiano / "performance_midi" / f"{PIECE}_3_15.mid")
    rng = np.random.default_rng(0)
    shift = rng.normal(0, 0.04, len(played.onset))
    order = np.argsort(played.onset + shift, kind="stable")
    jittered = Notes(
        (played.onset + shift)[order],
        (played.offset + shift)[order],
        played.pitch[order],
        played.velocity[order],
        played.pedal,
    )
    end = float(played.offset.max()) + 1
    clean = alignment_features(played, score.notes, align(played, score.notes), 0.0, end)
    rough = alignment_features(jittered, score.notes, align(jittered, score.notes), 0.0, end)
    assert rough["al_onset_dev_mean"] > clean["al_onset_dev_mean"] * 1.5
    assert rough["al_tempo_jitter"] > clean["al_tempo_jitter"]


def test_bars_from_the_audio_agree_with_bars_from_its_midi(percepiano: Path, shared_dir: Path) -> None:
    """The dataset's example WAV was rendered from this performance's MIDI (with a different lead-in): bars
    found through its transcription sit where the MIDI's bars sit, up to that constant offset."""
    from api.settings import Settings
    from scorer.inference.service import Scorer

    score = load_score(percepiano / "score_midi" / f"{PIECE}_Score_15.mid")
    from_midi = np.array(bar_starts(_notes(percepiano / "performance_midi" / f"{PIECE}_3_15.mid"), score))
    scorer = Scorer.load(Settings(shared_dir=shared_dir).scorer_config())
    report = scorer.score_path(shared_dir / EXAMPLE, score=score)
    plain = scorer.score_path(shared_dir / EXAMPLE)
    # the score changes timing stability only (its score-aware head: tests/test_scorer_score_timing.py)
    assert [(d.name, d.score) for d in report.dimensions if d.name != "timing_stability"] == [
        (d.name, d.score) for d in plain.dimensions if d.name != "timing_stability"
    ]
    assert report.weak_spots and all(s.bars for s in report.weak_spots)
    from scorer.inference.decode import decode
    from scorer.inference.features import FEATURE_SR
    from scorer.inference.transcribe import Transcriber

    decoded = decode(shared_dir / EXAMPLE, max_duration_s=1800, soundfont=scorer.config.soundfont)
    from_audio = np.array(bar_starts(Transcriber(1).transcribe(decoded.audio, FEATURE_SR), score))
    assert len(from_audio) == len(from_midi) == 8
    offset = np.median(from_midi - from_audio)
    assert np.abs(from_midi - from_audio - offset).max() < 0.15


def test_cli_reports_bars_from_a_score_and_rejects_bad_scores(
    percepiano: Path, shared_dir: Path, tmp_path: Path
) -> None:
    import json

    midi = percepiano / "performance_midi" / f"{PIECE}_3_15.mid"
    score = percepiano / "score_midi" / f"{PIECE}_Score_15.mid"
    run = subprocess.run(
        [sys.executable, "-m", "api.cli", "score", str(midi), "--score", str(score), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["weak_spots"] and all(1 <= b <= 8 for s in report["weak_spots"] for b in s["bars"])
    not_midi = tmp_path / "score.mid"
    not_midi.write_text("this is not a MIDI file")
    for bad, message in ((not_midi, "not a score file"), (tmp_path / "missing.mid", "score not found")):
        run = subprocess.run(
            [sys.executable, "-m", "api.cli", "score", str(midi), "--score", str(bad)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode != 0 and message in run.stderr and "Traceback" not in run.stderr
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_load_score_rejects_a_midi_without_notes(tmp_path: Path) -> None:
    import pretty_midi

    empty = pretty_midi.PrettyMIDI()
    empty.instruments.append(pretty_midi.Instrument(0))
    path = tmp_path / "empty.mid"
    empty.write(str(path))
    with pytest.raises(RecordingError, match="no notes"):
        load_score(path)
