"""Compact LightGBM model text: half the committed size, the same predictions."""

from __future__ import annotations

import numpy as np

from scorer.model import compact_model_string


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
