"""The embedded backend's trained heads: numpy-only inference from one small .npz file.

Each head (``audio``: waveform descriptors; ``midi``: the same plus note features) holds one model per
cross-validation fold; each fold model is a blend of a ridge regression on standardised features
and LightGBM models of the labels' leading principal components (an MLP member is supported but
measured no better). The score is the mean over the fold models; the uncertainty is their spread,
rescaled so that on held-out data it matches the real error (per dimension).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scorer.errors import ScorerConfigError

DEFAULT_WEIGHTS = Path(__file__).resolve().parents[1] / "models" / "embedded" / "model.npz"
# Score-aware timing heads (given a score), by the base head they stand beside: the base head's families with
# the score-relative features joined in (scorer.training.tables.with_alignment), trained on timing stability alone,
# which they replace. Why timing only: measured on the same folds, the alignment features lift timing
# stability's R² by 0.05-0.08 and move every other dimension inside the noise, so a full second head would
# double the file.
SCORE_TIMING_HEADS = {"audio_timing": "audio", "midi_timing": "midi"}
TIMING_DIMENSION = "timing_stability"
# Lines of a LightGBM model text that prediction never reads (training statistics per node); without
# them a model is half the size compressed, so the committed file holds twice the trees.
_UNUSED_TREE_LINES = (
    "split_gain=",
    "internal_value=",
    "internal_weight=",
    "internal_count=",
    "leaf_weight=",
    "leaf_count=",
    "tree_sizes=",
)


def compact_model_string(text: str) -> str:
    """A LightGBM model text reduced to what prediction needs (identical predictions)."""
    kept = "\n".join(line for line in text.split("\n") if not line.startswith(_UNUSED_TREE_LINES))
    cut = kept.find("\nfeature_importances:")  # importances and training parameters: not read back
    return kept[:cut] + "\n" if cut > 0 else kept


@dataclass
class FoldModel:
    mean: np.ndarray  # (F,)
    scale: np.ndarray  # (F,)
    ridge_w: np.ndarray  # (F, D)
    ridge_b: np.ndarray  # (D,)
    mlp: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # relu hidden layers, linear out
    mlp_weight: float = 0.5  # share of the MLP in the blend (0 = ridge only)
    gbm: list[str] = field(default_factory=list)  # one LightGBM model (text) per output
    gbm_weight: float = 0.0  # share of the gradient-boosting models in the blend
    # When set, the boosted models predict label principal components: labels = out @ basis + centre
    gbm_basis: np.ndarray | None = None  # (K, D)
    gbm_centre: np.ndarray | None = None  # (D,)
    _boosters: list = field(default_factory=list, repr=False)

    def boosters(self) -> list:
        if self.gbm and not self._boosters:
            import lightgbm as lgb

            self._boosters = [lgb.Booster(model_str=s) for s in self.gbm]
        return self._boosters

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = (x - self.mean) / self.scale
        z = np.clip(z, -6, 6)  # an out-of-range descriptor must not dominate a linear model
        out = z @ self.ridge_w + self.ridge_b
        if self.gbm and self.gbm_weight > 0:
            trees = np.stack([b.predict(x, num_threads=1) for b in self.boosters()], axis=1)
            if self.gbm_basis is not None:
                trees = trees @ self.gbm_basis + self.gbm_centre
            out = (1 - self.gbm_weight) * out + self.gbm_weight * trees
        if self.mlp and self.mlp_weight > 0:
            h = z
            for i, (w, b) in enumerate(self.mlp):
                h = h @ w + b
                if i < len(self.mlp) - 1:
                    h = np.maximum(h, 0)
            out = (1 - self.mlp_weight) * out + self.mlp_weight * h
        return out


def impute_missing(x: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Missing (NaN, inf) entries of ``x`` replaced in place by their column's value (training medians)."""
    bad = ~np.isfinite(x)
    x[bad] = np.broadcast_to(values, x.shape)[bad]
    return x


@dataclass
class Head:
    feature_names: list[str]
    impute: np.ndarray  # (F,) training medians for missing features
    folds: list[FoldModel]
    rmse: np.ndarray  # (D,) held-out RMSE per dimension
    mean_spread: np.ndarray  # (D,) mean fold spread on held-out data

    def matrix(self, rows: list[dict[str, float]]) -> np.ndarray:
        x = np.array([[row.get(n, np.nan) for n in self.feature_names] for row in rows], dtype=np.float64)
        return impute_missing(x, self.impute)

    def predict(self, rows: list[dict[str, float]]) -> tuple[np.ndarray, np.ndarray]:
        """(scores, uncertainty), each ``(n_rows, D)``."""
        x = self.matrix(rows)
        preds = np.stack([f.predict(x) for f in self.folds])  # (K, N, D)
        score = np.clip(preds.mean(0), 0.0, 1.0)
        spread = preds.std(0)
        # Calibrated: typical held-out error, larger where the folds disagree more than usual.
        ratio = np.clip(spread / np.maximum(self.mean_spread, 1e-6), 0.5, 3.0)
        return score, self.rmse * ratio


@dataclass
class EmbeddedModel:
    heads: dict[str, Head]
    meta: dict

    def save(self, path: Path) -> None:
        arrays: dict[str, Any] = {}
        spec: dict = {"meta": self.meta, "heads": {}}
        for hname, head in self.heads.items():
            hs: dict[str, Any] = {"feature_names": head.feature_names, "folds": []}
            arrays[f"{hname}/impute"] = head.impute
            arrays[f"{hname}/rmse"] = head.rmse
            arrays[f"{hname}/mean_spread"] = head.mean_spread
            for k, f in enumerate(head.folds):
                p = f"{hname}/{k}/"
                arrays[p + "mean"], arrays[p + "scale"] = f.mean, f.scale
                arrays[p + "ridge_w"], arrays[p + "ridge_b"] = f.ridge_w, f.ridge_b
                for j, (w, b) in enumerate(f.mlp):
                    arrays[p + f"mlp{j}_w"], arrays[p + f"mlp{j}_b"] = (
                        w.astype(np.float32),
                        b.astype(np.float32),
                    )
                for j, text in enumerate(f.gbm):
                    arrays[p + f"gbm{j}"] = np.frombuffer(text.encode(), dtype=np.uint8)
                if f.gbm_basis is not None:
                    arrays[p + "gbm_basis"], arrays[p + "gbm_centre"] = f.gbm_basis, f.gbm_centre
                hs["folds"].append(
                    {
                        "mlp_layers": len(f.mlp),
                        "mlp_weight": f.mlp_weight,
                        "gbm_models": len(f.gbm),
                        "gbm_weight": f.gbm_weight,
                    }
                )
            spec["heads"][hname] = hs
        arrays["spec"] = np.frombuffer(json.dumps(spec).encode(), dtype=np.uint8)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: Path | None = None) -> EmbeddedModel:
        path = path or DEFAULT_WEIGHTS
        if not path.is_file():
            raise ScorerConfigError(f"scorer weights not found: {path} (run `cadenza scorer train`)")
        try:
            z = np.load(path, allow_pickle=False)
            spec = json.loads(bytes(z["spec"]).decode())
            heads = {}
            for hname, hs in spec["heads"].items():
                folds = []
                for k, fs in enumerate(hs["folds"]):
                    p = f"{hname}/{k}/"
                    mlp = [
                        (z[p + f"mlp{j}_w"].astype(np.float64), z[p + f"mlp{j}_b"].astype(np.float64))
                        for j in range(fs["mlp_layers"])
                    ]
                    gbm = [bytes(z[p + f"gbm{j}"]).decode() for j in range(fs.get("gbm_models", 0))]
                    basis = (
                        (z[p + "gbm_basis"], z[p + "gbm_centre"])
                        if p + "gbm_basis" in z.files
                        else (None, None)
                    )
                    folds.append(
                        FoldModel(
                            z[p + "mean"],
                            z[p + "scale"],
                            z[p + "ridge_w"],
                            z[p + "ridge_b"],
                            mlp,
                            fs["mlp_weight"],
                            gbm,
                            fs.get("gbm_weight", 0.0),
                            *basis,
                        )
                    )
                heads[hname] = Head(
                    hs["feature_names"],
                    z[f"{hname}/impute"],
                    folds,
                    z[f"{hname}/rmse"],
                    z[f"{hname}/mean_spread"],
                )
        except (KeyError, ValueError, OSError) as err:
            raise ScorerConfigError(f"scorer weights unreadable: {path}: {err}") from err
        return cls(heads, spec["meta"])
