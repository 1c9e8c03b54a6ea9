"""Given the score, timing stability comes from the score-aware timing head (the recording aligned to the
notation); the other 18 dimensions are those of the plain head, and the shipped heads are what the card says."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from api.settings import Settings
from scorer.inference.align import load_score
from scorer.inference.model import TIMING_DIMENSION, EmbeddedModel
from scorer.inference.service import Scorer
from scorer.training.dataset import FeatureTable
from scorer.training.tables import with_alignment

KEY = "Beethoven_WoO80_var27_8bars_3_15"
SCORE = "Beethoven_WoO80_var27_8bars_Score_15.mid"


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer.load(Settings().scorer_config())


@pytest.fixture(scope="module")
def percepiano(shared_dir: Path) -> Path:
    return shared_dir / "data" / "percepiano"


@pytest.mark.parametrize("recording", [f"examples/{KEY}.wav", f"performance_midi/{KEY}.mid"])
def test_a_score_changes_timing_stability_and_nothing_else(
    scorer: Scorer, percepiano: Path, recording: str
) -> None:
    path = percepiano / recording
    plain = {d.name: d for d in scorer.score_path(path).dimensions}
    scored_report = scorer.score_path(path, score=load_score(percepiano / "score_midi" / SCORE))
    scored = {d.name: d for d in scored_report.dimensions}
    assert scored_report.weak_spots and all(s.bars for s in scored_report.weak_spots)
    for name, dim in plain.items():
        if name == TIMING_DIMENSION:
            assert abs(scored[name].score - dim.score) > 1e-4  # another head answered
            assert 0 < scored[name].uncertainty < 0.5
        else:
            assert scored[name].score == dim.score and scored[name].uncertainty == dim.uncertainty, name


def test_with_the_score_jittered_timing_reads_less_stable(
    scorer: Scorer, percepiano: Path, tmp_path: Path
) -> None:
    """60 ms of random onset jitter on the true MIDI: the score-aware head sees the notes leave the grid."""
    from scorer.training.robustness import jitter

    midi = percepiano / "performance_midi" / f"{KEY}.mid"
    jittered = tmp_path / "jittered.mid"
    jittered.write_bytes(jitter(60)(midi.read_bytes()))
    score = load_score(percepiano / "score_midi" / SCORE)
    timing = [
        next(d.score for d in scorer.score_path(p, score=score).dimensions if d.name == TIMING_DIMENSION)
        for p in (midi, jittered)
    ]
    assert timing[1] > timing[0] + 0.01, timing


def test_shipped_timing_heads_read_the_alignment_features() -> None:
    heads = EmbeddedModel.load().heads
    assert any(n.startswith("tr_al_") for n in heads["audio_timing"].feature_names)
    assert any(n.startswith("ctx_tr_al_") for n in heads["audio_timing"].feature_names)
    assert any(n.startswith("al_") for n in heads["midi_timing"].feature_names)
    for name in ("audio_timing", "midi_timing"):
        assert heads[name].rmse.shape == (1,)  # one output: timing stability


def test_alignment_rows_must_belong_to_the_table_s_windows() -> None:
    table = FeatureTable(["a", "a"], [(0.0, 15.0), (7.5, 22.5)], [{}, {}], [{}, {}], [{}, {}])
    other = FeatureTable(["a"], [(0.0, 15.0)], [{}], [{"al_x": 1.0}], [{}])
    with pytest.raises(ValueError, match="rebuild"):
        with_alignment(table, other)
    joined = with_alignment(
        table,
        FeatureTable(list(table.keys), list(table.spans), [{}, {}], [{"al_x": 1.0}, {"al_x": 2.0}], [{}, {}]),
    )
    assert [r["al_x"] for r in joined.notes] == [1.0, 2.0]
    short = FeatureTable(list(table.keys), list(table.spans), [{}, {}], [{"al_x": 1.0}], [{}, {}])
    with pytest.raises(ValueError, match="rebuild"):  # rows that do not match the windows one to one
        with_alignment(table, short)


def _timing(report) -> float:
    return next(d.score for d in report.dimensions if d.name == TIMING_DIMENSION)


def test_a_score_of_other_music_falls_back_to_the_plain_timing(scorer: Scorer, percepiano: Path) -> None:
    """Beethoven played against a Schubert score: under 20% of the notes pair, so the plain head answers."""
    midi = percepiano / "performance_midi" / f"{KEY}.mid"
    other = load_score(percepiano / "score_midi" / "Schubert_D960_mv3_8bars_Score_37.mid")
    report = scorer.score_path(midi, score=other)
    assert _timing(report) == _timing(scorer.score_path(midi))
    # and says so: the score was not followed, so no bar numbers come from it
    assert report.score_following is not None and not report.score_following.followed
    assert report.score_following.matched_share < 0.2
    assert report.weak_spots and all(not s.bars for s in report.weak_spots)
    own = scorer.score_path(midi, score=load_score(percepiano / "score_midi" / SCORE)).score_following
    assert own is not None and own.followed and own.matched_share > 0.8
    assert scorer.score_path(midi).score_following is None  # no score, no field


def test_midi_input_without_a_midi_head_keeps_the_plain_timing(percepiano: Path) -> None:
    """A model with only the audio heads reads a MIDI file's transcription: the alignment of the true notes
    does not fit those features, so it is not used (no crash, the audio head's timing)."""
    from scorer.inference.embedded import EmbeddedBackend

    backend = EmbeddedBackend()
    for name in ("midi", "midi_timing"):
        backend.model.heads.pop(name)
    scorer = Scorer(Settings().scorer_config(), backend)
    midi = percepiano / "performance_midi" / f"{KEY}.mid"
    score = load_score(percepiano / "score_midi" / SCORE)
    assert _timing(scorer.score_path(midi, score=score)) == _timing(scorer.score_path(midi))


def test_main_job_rejects_a_bad_score_before_any_work(percepiano: Path, tmp_path: Path) -> None:
    """`cadenza feedback REC --score X`: a score that is not MIDI, or a score beside --scores, is one line and
    exit 2 (the recording is not scored, the corpus not opened)."""
    import subprocess
    import sys

    not_midi = tmp_path / "score.mid"
    not_midi.write_text("not a MIDI file")
    report = tmp_path / "report.json"
    report.write_text("{}")
    recording = str(percepiano / "examples" / f"{KEY}.wav")
    for args, message in (
        ([recording, "--score", str(not_midi)], "not a score file"),
        (["--scores", str(report), "--score", str(not_midi)], "needs a RECORDING"),
    ):
        run = subprocess.run(
            [sys.executable, "-m", "api.cli", "feedback", *args],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "CADENZA_HOME": str(tmp_path / "home")},
        )
        assert run.returncode == 2 and message in run.stderr, run.stderr
        assert len(run.stderr.strip().splitlines()) == 1 and not (tmp_path / "home").exists()


def test_a_copy_s_alignment_is_of_its_own_transcription(percepiano: Path, tmp_path: Path) -> None:
    """The audio timing head also trains on the copies (recording conditions): their rows align the degraded
    render's own transcription to the score, on the copy's windows, and are cached by that audio."""
    import numpy as np

    from scorer.inference.align import align
    from scorer.inference.extract import TRANSCRIBED_PREFIX, aligned_rows
    from scorer.inference.features import FEATURE_SR
    from scorer.inference.transcribe import Transcriber
    from scorer.training.tables import (
        augmented_audio,
        build_aligned_copy_table,
        build_aligned_table,
        build_augmented_table,
    )

    soundfont = Settings().soundfont
    copy = build_augmented_table(percepiano, [KEY], soundfont, tmp_path)
    audio = augmented_audio(percepiano, KEY, soundfont, tmp_path)
    aligned = build_aligned_copy_table(percepiano, copy, lambda k: audio, tmp_path)
    assert (aligned.keys, aligned.spans) == (copy.keys, copy.spans) and all(not r for r in aligned.notes)
    heard = Transcriber(1).transcribe(audio, FEATURE_SR)
    score = load_score(percepiano / "score_midi" / SCORE).notes
    direct = aligned_rows(
        heard, score, align(heard, score), copy.spans, len(audio) / FEATURE_SR, prefix=TRANSCRIBED_PREFIX
    )
    assert aligned.transcribed == direct and any(n.startswith("tr_al_") for n in direct[0])
    clean = build_aligned_table(percepiano, [KEY], soundfont, tmp_path)
    first = sorted(direct[0])
    assert not np.allclose(
        [direct[0][n] for n in first], [clean.transcribed[0].get(n, np.nan) for n in first], equal_nan=True
    )  # the copy's audio, not the clean render's
    joined = with_alignment(copy, aligned)  # what the audio timing head trains on
    assert all(
        any(k.startswith("tr_al_") for k in r) and r.keys() > base.keys()
        for r, base in zip(joined.transcribed, copy.transcribed, strict=False)
    )
    cached = {p: p.stat().st_mtime_ns for p in (tmp_path / "aligned").rglob("*.pkl")}
    assert build_aligned_copy_table(percepiano, copy, lambda k: audio, tmp_path).transcribed == direct
    assert {
        p: p.stat().st_mtime_ns for p in (tmp_path / "aligned").rglob("*.pkl")
    } == cached  # read, not rewritten
