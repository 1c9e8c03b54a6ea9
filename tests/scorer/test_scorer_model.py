"""Compact LightGBM model text (half the committed size, the same predictions); v3 MIDI pedal features."""

from __future__ import annotations

import numpy as np

from scorer.inference.model import compact_model_string


def test_compact_model_string_predicts_the_same() -> None:
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 12))
    y = x[:, 0] - 2 * x[:, 3] * (x[:, 5] > 0) + rng.normal(scale=0.1, size=300)
    model = lgb.LGBMRegressor(n_estimators=30, num_leaves=7, verbose=-1, n_jobs=1).fit(x, y)
    full = model.booster_.model_to_string()
    small = compact_model_string(full)
    assert len(small) < 0.7 * len(full)
    probe = rng.normal(size=(50, 12))
    got = lgb.Booster(model_str=small).predict(probe, num_threads=1)
    assert np.array_equal(got, model.booster_.predict(probe, num_threads=1))


def test_midi_notes_carry_pedal_depth(shared_dir) -> None:
    """True MIDI keeps the sustain controller's depth (half-pedalling) for the v3 pedal features."""
    import pretty_midi

    from scorer.inference.features import note_features, notes_from_midi

    mid = shared_dir / "data/percepiano/performance_midi/Beethoven_WoO80_var27_8bars_3_15.mid"
    notes = notes_from_midi(pretty_midi.PrettyMIDI(str(mid)))
    assert len(notes.cc64[0]) == len(notes.cc64[1]) > 0
    window = notes.window(2.0, 10.0)
    assert (window.cc64[0] >= 0).all() and (window.cc64[0] < 8.0).all()
    feats = note_features(window, 8.0)
    assert 0 < feats["pedal_cc_mean"] <= 1 and "pedal_pcs_mean" in feats and "ioi_resid_std" in feats
