"""Training of the embedded heads with leak-free cross-validation (out-of-fold predictions included)."""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scorer.inference.model import SCORE_TIMING_HEADS, FoldModel, Head, compact_model_string, impute_missing
from scorer.training.dataset import FeatureTable

RIDGE_ALPHA = 100.0
MLP_HIDDEN = (64,)
MLP_WEIGHT = 0.0  # measured: the MLP added nothing over ridge here and cost 100x the time
# Measured on music-grouped folds, audio + transcription features, pooled OOF R² of the audio head.
# Segment-level rows: ridge 0.30, LightGBM per dimension 0.36, LightGBM on 8 label principal components
# 0.36 (8/19 of the size), 0.7 boosted + 0.3 ridge 0.37 - but segment-level training does not transfer to
# 15 s inference windows (0.20), so we train on windows: 300 trees x 15 leaves 0.325 (14 MB committed),
# 200 x 7 leaves 0.318 (~4 MB); boosted share 0.5 / 0.7 / 0.85 within 0.005 of each other.
# v3 (30 s context features per window, overlapping windows, contour note features): audio 0.362, MIDI
# 0.475; 400 trees 0.363 (not worth twice the size); one boosted model per dimension instead of the
# components, MIDI 0.478 but within-passage 0.352 vs 0.356 and pairwise 73.2% vs 74.0% at 2.4x the size.
# Weight of a performance's augmented copies against its clean rows. Measured (audio head, same folds)
# 1.0 / 0.5 / 0.25: clean OOF R² 0.343 / 0.352 / 0.354, held-out random-condition rows 0.289 / 0.287 / 0.274
# (no augmentation: 0.363 clean, 0.087 under random conditions); timing stability rising under 30 / 60 ms
# jitter (robustness subset) 73/81% / 73/77% / 79/85% (none: 94/96%): heavier copies teach the head to
# distrust fine onset timing, so 0.25.
AUGMENTED_WEIGHT = 0.25
# Weight of a performance's renders with the second training soundfont (MuseScore General), same rules.
# Measured with the 0.25 recording-condition copies, weight 0 / 0.25 / 0.5 / 1.0: clean OOF R² 0.354 /
# 0.356 / 0.355 / 0.351; held-out MuseScore renders 0.252 / 0.300 / 0.306 / 0.306; robustness subset (48)
# unseen TimGM6mb 0.278 / 0.313 / 0.324 / 0.329 against clean 0.356 / 0.365 / 0.366 / 0.365 (drop 0.078 /
# 0.052 / 0.042 / 0.036); timing stability rising under 30 / 60 ms jitter 79/85% / 79/83% / 83/79% / 79/73%.
SECOND_SOUNDFONT_WEIGHT = 0.5
GBM_WEIGHT = 0.7
GBM_COMPONENTS = 8  # the 19 labels are strongly correlated: 8 components hold 93% of their variance
GBM_PARAMS: dict[str, Any] = dict(
    n_estimators=200,
    learning_rate=0.045,
    num_leaves=7,
    min_child_samples=10,
    subsample=0.8,
    subsample_freq=1,
    colsample_bytree=0.5,
    reg_lambda=1.0,
    verbose=-1,
    n_jobs=1,
)
SEED = 0


# Which feature families each head sees: audio input gets its transcription's note features, MIDI
# input the true notes (and pedal) instead.
HEAD_FAMILIES: dict[str, tuple[str, ...]] = {"audio": ("audio", "transcribed"), "midi": ("audio", "notes")}
# a score-aware timing head reads its base head's families (the alignment features are joined into them)
HEAD_FAMILIES.update({timing: HEAD_FAMILIES[base] for timing, base in SCORE_TIMING_HEADS.items()})


def head_rows(table: FeatureTable, head: str) -> list[dict[str, float]]:
    families = [getattr(table, f) for f in HEAD_FAMILIES[head]]
    if any(len(rows) != len(table.keys) for rows in families):
        raise ValueError(f"feature table lacks a family of head {head!r}: rebuild it")
    return [{k: v for row in rows for k, v in row.items()} for rows in zip(*families, strict=False)]


def head_features(table: FeatureTable, head: str) -> list[str]:
    return sorted({n for row in head_rows(table, head) for n in row})


def _matrix(rows: Sequence[Mapping[str, float]], names: Sequence[str]) -> np.ndarray:
    return np.array([[row.get(n, np.nan) for n in names] for row in rows], dtype=np.float64)


def fit_fold(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    *,
    mlp_weight: float = MLP_WEIGHT,
    components: int | None = GBM_COMPONENTS,
) -> FoldModel:
    """Ridge (closed form, sample-weighted) + LightGBM on the label components (+ an optional MLP)."""
    from sklearn.neural_network import MLPRegressor

    mean = np.average(x, axis=0, weights=w)
    scale = np.sqrt(np.average((x - mean) ** 2, axis=0, weights=w)) + 1e-9
    z = np.clip((x - mean) / scale, -6, 6)
    ybar = np.average(y, axis=0, weights=w)
    zw = z * np.sqrt(w)[:, None]
    yw = (y - ybar) * np.sqrt(w)[:, None]
    ridge_w = np.linalg.solve(zw.T @ zw + RIDGE_ALPHA * np.eye(z.shape[1]), zw.T @ yw)
    ridge_b = ybar - (np.average(z, axis=0, weights=w) @ ridge_w)
    layers: list[tuple[np.ndarray, np.ndarray]] = []
    if mlp_weight > 0:
        mlp = MLPRegressor(
            hidden_layer_sizes=MLP_HIDDEN,
            alpha=1.0,
            learning_rate_init=1e-3,
            max_iter=400,
            early_stopping=False,
            random_state=SEED,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mlp.fit(z, y, sample_weight=w)
        layers = [(np.asarray(c), np.asarray(b)) for c, b in zip(mlp.coefs_, mlp.intercepts_, strict=False)]
    gbm: list[str] = []
    basis = centre = None
    if GBM_WEIGHT > 0:
        import lightgbm as lgb

        if components is None:  # one model per label
            targets = y
        else:
            centre = ybar
            _, _, vt = np.linalg.svd((y - centre) * np.sqrt(w)[:, None], full_matrices=False)
            basis = vt[:components]
            targets = (y - centre) @ basis.T
        for c in range(targets.shape[1]):
            model = lgb.LGBMRegressor(random_state=SEED + c, **GBM_PARAMS)
            model.fit(x, targets[:, c], sample_weight=w)
            gbm.append(compact_model_string(model.booster_.model_to_string()))
    return FoldModel(
        mean,
        scale,
        ridge_w,
        ridge_b,
        layers,
        mlp_weight if layers else 0.0,
        gbm,
        GBM_WEIGHT if gbm else 0.0,
        basis,
        centre,
    )


def _column_medians(x: np.ndarray) -> np.ndarray:
    """Per-feature median of the finite values (0 for a feature never seen): the value a missing one takes."""
    medians = np.nanmedian(x, axis=0)
    return np.where(np.isfinite(medians), medians, 0.0)


def _segment_weights(keys: Sequence[str]) -> np.ndarray:
    """Every segment counts once, however many windows it has."""
    counts: dict[str, int] = defaultdict(int)
    for k in keys:
        counts[k] += 1
    return np.array([1.0 / counts[k] for k in keys])


@dataclass
class TrainResult:
    head: Head
    oof: dict[str, np.ndarray]  # key -> out-of-fold prediction (segment level)


def aggregate_by_key(
    keys: Sequence[str], window_preds: np.ndarray, spans: Sequence[tuple[float, float]]
) -> dict[str, np.ndarray]:
    """Segment prediction = centre-weighted mean of its (overlapping) windows, as at inference."""
    from scorer.inference.windows import aggregate, centre_weights

    idx: dict[str, list[int]] = defaultdict(list)
    for i, k in enumerate(keys):
        idx[k].append(i)
    out = {}
    for k, rows in idx.items():
        own = [spans[i] for i in rows]
        out[k] = aggregate(window_preds[rows], centre_weights(own, max(b for _, b in own)))
    return out


def train_head(
    table: FeatureTable,
    labels: Mapping[str, np.ndarray],
    folds: Mapping[str, int],
    head: str,
    *,
    mlp_weight: float = MLP_WEIGHT,
    components: int | None = GBM_COMPONENTS,
    copies: Sequence[tuple[FeatureTable, float]] = (),
) -> TrainResult:
    """``copies``: extra training rows with their weight (the same performances under random recording
    conditions, or rendered with another soundfont); they join the training folds of their key's fold
    only, each performance's copies in a table weighing that table's weight against its clean rows' 1,
    and the out-of-fold predictions stay those of the clean rows, so the metrics compare with a head
    trained without them."""
    names = head_features(table, head)
    x = _matrix(head_rows(table, head), names)
    impute = _column_medians(x)
    x = impute_missing(x, impute)
    keys = table.keys
    y = np.stack([labels[k] for k in keys])
    w = _segment_weights(keys)
    fold_of = np.array([folds[k] for k in keys])
    x_aug, y_aug, w_aug, fold_aug = [x[:0]], [y[:0]], [w[:0]], [fold_of[:0]]
    for extra, weight in copies:
        if not extra.keys:
            continue
        x_aug.append(impute_missing(_matrix(head_rows(extra, head), names), impute))
        y_aug.append(np.stack([labels[k] for k in extra.keys]))
        w_aug.append(_segment_weights(extra.keys) * weight)
        fold_aug.append(np.array([folds[k] for k in extra.keys]))
    x_copies, y_copies = np.vstack(x_aug), np.vstack(y_aug)
    w_copies, fold_copies = np.concatenate(w_aug), np.concatenate(fold_aug)
    n_folds = int(fold_of.max()) + 1
    models: list[FoldModel] = []
    oof_windows = np.zeros_like(y)
    for f in range(n_folds):
        tr, te, tr_aug = fold_of != f, fold_of == f, fold_copies != f
        model = fit_fold(
            np.vstack([x[tr], x_copies[tr_aug]]),
            np.vstack([y[tr], y_copies[tr_aug]]),
            np.concatenate([w[tr], w_copies[tr_aug]]),
            mlp_weight=mlp_weight,
            components=components,
        )
        models.append(model)
        oof_windows[te] = model.predict(x[te])
    oof = {k: np.clip(v, 0, 1) for k, v in aggregate_by_key(keys, oof_windows, table.spans).items()}
    seg_keys = sorted(oof)
    err = np.stack([oof[k] - labels[k] for k in seg_keys])
    rmse = np.sqrt((err**2).mean(0))
    all_preds = np.stack([m.predict(x) for m in models])  # spread of the ensemble on training windows
    mean_spread = all_preds.std(0).mean(0)
    return TrainResult(Head(names, impute, models, rmse, mean_spread), oof)
