"""The committed folds: deterministic, grouped by music, and no recording's notes in two folds."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from scorer.training.dataset import load_labels, midi_path, parse_key
from scorer.training.folds import CONTAINMENT_THRESHOLD, assign_folds, containment, load_folds, pitch_ngrams
from scorer.training.pipeline import DEFAULT_DIR

FOLDS = DEFAULT_DIR / "folds.json"


@pytest.fixture(scope="module")
def percepiano(shared_dir: Path) -> Path:
    return shared_dir / "data" / "percepiano"


def test_every_labelled_performance_has_one_fold(percepiano: Path) -> None:
    folds = load_folds(FOLDS)
    assert set(folds) == set(load_labels(percepiano))
    sizes = [list(folds.values()).count(f) for f in range(4)]
    assert max(sizes) - min(sizes) < 0.05 * len(folds)  # balanced


def test_passages_and_groups_stay_in_one_fold() -> None:
    payload = json.loads(FOLDS.read_text())
    folds, groups = payload["folds"], payload["groups"]
    by_passage, by_group = defaultdict(set), defaultdict(set)
    for key, f in folds.items():
        by_passage[parse_key(key).passage].add(f)
        by_group[groups[key]].add(f)
    assert all(len(v) == 1 for v in by_passage.values())
    assert all(len(v) == 1 for v in by_group.values())
    # the dealing is deterministic: the same groups give the same folds
    assert assign_folds(groups) == {k: int(v) for k, v in folds.items()}


def test_no_recording_notes_in_two_folds(percepiano: Path) -> None:
    """Same-performer segments of a piece in different folds must not share their notes (the D960
    8-bar segments copied into 16-bar ones were the published folds' leak)."""
    folds = load_folds(FOLDS)
    by_player = defaultdict(list)
    for key in folds:
        k = parse_key(key)
        by_player[(k.piece, k.performer)].append(key)
    grams = {}
    checked = 0
    for keys in by_player.values():
        for i, a in enumerate(keys):
            for b in keys[i + 1 :]:
                if folds[a] == folds[b]:
                    continue
                for k in (a, b):
                    if k not in grams:
                        grams[k] = pitch_ngrams(midi_path(percepiano, k))
                checked += 1
                c = containment(grams[a], grams[b])
                assert c < CONTAINMENT_THRESHOLD, f"{a} and {b} share {c:.0%} of their notes across folds"
    assert checked > 1000  # the check really ran over many cross-fold pairs


def test_known_copied_segments_are_merged(percepiano: Path) -> None:
    """Spot check of the detector: 16-bar D960 segments that contain an 8-bar one share its fold."""
    payload = json.loads(FOLDS.read_text())
    groups = payload["groups"]
    merged = {g for k, g in groups.items() if "16bars" in k and "8bars" in g} | {
        g for k, g in groups.items() if "8bars" in k and "16bars" in g
    }
    assert len(merged) >= 5
