"""Recording-condition augmentation: the chain is deterministic and well-formed, and augmented rows only
ever join the training folds of their own key (never the fold that predicts that key)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scorer.training.augment import recording_chain
from scorer.training.dataset import FeatureTable
from scorer.training.heads import train_head


def test_recording_chain_is_seeded_and_keeps_length_and_peak(shared_dir: Path) -> None:
    import soundfile as sf

    y, sr = sf.read(
        str(shared_dir / "data/percepiano/examples/Beethoven_WoO80_var27_8bars_3_15.wav"),
        dtype="float32",
        always_2d=True,
    )
    y = y.mean(axis=1)[: sr * 5]
    a = recording_chain(y, np.random.default_rng(1))
    b = recording_chain(y, np.random.default_rng(1))
    c = recording_chain(y, np.random.default_rng(2))
    assert a.dtype == np.float32 and len(a) == len(y) and np.isfinite(a).all()
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert abs(float(np.abs(a).max()) - 0.9) < 1e-4  # peak-normalised like the training renders
    # a condition, not a copy: the spectrum changes
    assert np.corrcoef(np.abs(np.fft.rfft(a)), np.abs(np.fft.rfft(y)))[0, 1] < 0.999


def _table(keys: list[str], x: np.ndarray) -> FeatureTable:
    rows = [{f"f{j}": float(v) for j, v in enumerate(row)} for row in x]
    return FeatureTable(list(keys), [(0.0, 15.0)] * len(keys), rows, [{} for _ in keys], [{} for _ in keys])


def test_augmented_rows_never_reach_the_fold_that_predicts_their_key() -> None:
    """Labels are random per performance, and a performance's feature f0 is its own code, shared by its
    augmented copies (12 windows each, enough for a boosted leaf to memorise it). Copies that leaked into the
    held-out fold's training would let the model look its labels up (out-of-fold R² well above 0); without
    a leak nothing can be learnt."""
    rng = np.random.default_rng(0)
    n = 80
    keys = [f"k{i}" for i in range(n)]
    labels = {k: rng.uniform(0.2, 0.8, 19) for k in keys}
    folds = {k: i % 4 for i, k in enumerate(keys)}
    code = rng.permutation(n).astype(float)
    clean = _table(keys, np.column_stack([code, rng.standard_normal(n)]))
    copies = np.repeat(np.arange(n), 12)
    augmented = _table(
        [keys[i] for i in copies], np.column_stack([code[copies], rng.standard_normal(len(copies))])
    )
    result = train_head(clean, labels, folds, "audio", copies=[(augmented, 1.0)])
    y = np.stack([labels[k] for k in keys])
    p = np.stack([result.oof[k] for k in keys])
    r2 = float(1 - ((y - p) ** 2).sum() / ((y - y.mean(0)) ** 2).sum())
    assert sorted(result.oof) == sorted(keys)
    assert r2 < 0.05, r2


def test_training_without_the_second_soundfont_says_which_package_installs_it(tmp_path: Path) -> None:
    """A missing second training soundfont is a one-line configuration error before any work starts
    (nothing rendered, nothing written)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "CADENZA_SCORER_SECOND_SOUNDFONT": str(tmp_path / "no.sf2")}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "scorer",
            "train",
            "--out",
            str(tmp_path / "out"),
            "--cache",
            str(tmp_path / "cache"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert "musescore-general-soundfont-lossless" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()
