"""The model card cannot drift: its metrics are recomputed from the committed OOF predictions,
the committed folds and PercePiano's labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import r2_score

from scorer.training.dataset import load_labels, parse_key
from scorer.training.metrics import pairwise, within_passage_r2
from scorer.training.pipeline import DEFAULT_DIR, load_oof

CARD = DEFAULT_DIR / "model_card.json"


@pytest.fixture(scope="module")
def labels(shared_dir: Path) -> dict[str, np.ndarray]:
    return load_labels(shared_dir / "data" / "percepiano")


@pytest.mark.parametrize("name", ["audio", "midi", "audio_performer"])
def test_card_metrics_recompute(name: str, labels) -> None:
    card = json.loads(CARD.read_text())
    res = card["results"][name]
    oof = load_oof(DEFAULT_DIR / f"oof_{name}.json")
    keys = sorted(labels)
    assert sorted(oof) == keys  # every performance has exactly one out-of-fold prediction
    y = np.stack([labels[k] for k in keys])
    p = np.stack([oof[k] for k in keys])
    passages = [parse_key(k).passage for k in keys]
    assert r2_score(y, p) == pytest.approx(res["r2_pooled"], abs=1e-6)
    assert within_passage_r2(y, p, passages) == pytest.approx(res["r2_within_passage"], abs=1e-6)
    assert float(np.abs(y - p).mean()) == pytest.approx(res["mae"], abs=1e-6)
    assert pairwise(y, p, passages)[0] == pytest.approx(res["pairwise_accuracy"], abs=1e-6)
    lo, hi = res["ci95"]["r2_pooled"]
    assert lo <= res["r2_pooled"] <= hi


def test_card_beats_the_mean_baseline_and_names_its_command() -> None:
    card = json.loads(CARD.read_text())
    base = card["results"]["mean_baseline"]
    assert base["r2_pooled"] < 0.01 and abs(base["pairwise_accuracy"] - 0.5) < 1e-9
    assert card["results"]["audio"]["r2_pooled"] > base["r2_pooled"] + 0.1
    assert card["command"].startswith("cadenza scorer eval")
    assert (DEFAULT_DIR / "model_card.md").is_file() and (DEFAULT_DIR / "model_card.png").is_file()


def test_shipped_weights_are_small() -> None:
    assert (DEFAULT_DIR / "model.npz").stat().st_size < 5_000_000


@pytest.mark.parametrize("name", ["audio_timing", "midi_timing"])
def test_card_score_timing_recomputes(name: str, labels) -> None:
    """The score-aware timing heads' figures, and their base heads' timing figures, from the OOF files."""
    from scorer.dimensions import BY_NAME

    entry = json.loads(CARD.read_text())["score_timing"][name]
    t = BY_NAME[entry["dimension"]].index
    keys = sorted(labels)
    y = np.stack([labels[k][t : t + 1] for k in keys])
    passages = [parse_key(k).passage for k in keys]
    with_score = load_oof(DEFAULT_DIR / f"oof_{name}.json")
    base = load_oof(DEFAULT_DIR / f"oof_{entry['base_head']}.json")
    assert sorted(with_score) == keys
    for oof, res in (
        (np.stack([with_score[k] for k in keys]), entry["with_score"]),
        (np.stack([base[k][t : t + 1] for k in keys]), entry["base"]),
    ):
        assert r2_score(y, oof) == pytest.approx(res["r2_pooled"], abs=1e-6)
        assert within_passage_r2(y, oof, passages) == pytest.approx(res["r2_within_passage"], abs=1e-6)
        assert pairwise(y, oof, passages)[0] == pytest.approx(res["pairwise_accuracy"], abs=1e-6)
