"""Training the embedded heads on PercePiano: labels and folds, feature tables, heads, the model card and
the robustness suites (`cadenza scorer train|eval|robustness`).

The pipeline, the tables, the metrics and the robustness suites load scikit-learn and scipy, so their names
are imported on first access, not with this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from scorer.training.augment import recording_chain
from scorer.training.dataset import FeatureTable, Key, load_labels, midi_path, parse_key, score_midi_path
from scorer.training.folds import assign_folds, load_folds, music_groups, performer_folds, save_folds
from scorer.training.heads import TrainResult, train_head

if TYPE_CHECKING:
    from scorer.training.metrics import report
    from scorer.training.pipeline import DEFAULT_DIR, card_markdown, evaluate, load_oof, save_oof, train
    from scorer.training.robustness import run_robustness
    from scorer.training.tables import (
        Progress,
        augmented_audio,
        build_aligned_copy_table,
        build_aligned_table,
        build_augmented_table,
        build_table,
        with_alignment,
    )

_LAZY = {
    **dict.fromkeys(
        ("DEFAULT_DIR", "card_markdown", "evaluate", "load_oof", "save_oof", "train"),
        "scorer.training.pipeline",
    ),
    **dict.fromkeys(
        (
            "Progress",
            "augmented_audio",
            "build_aligned_copy_table",
            "build_aligned_table",
            "build_augmented_table",
            "build_table",
            "with_alignment",
        ),
        "scorer.training.tables",
    ),
    "report": "scorer.training.metrics",
    "run_robustness": "scorer.training.robustness",
}

__all__ = [
    "DEFAULT_DIR",
    "FeatureTable",
    "Key",
    "Progress",
    "TrainResult",
    "assign_folds",
    "augmented_audio",
    "build_aligned_copy_table",
    "build_aligned_table",
    "build_augmented_table",
    "build_table",
    "card_markdown",
    "evaluate",
    "load_folds",
    "load_labels",
    "load_oof",
    "midi_path",
    "music_groups",
    "parse_key",
    "performer_folds",
    "recording_chain",
    "report",
    "run_robustness",
    "save_folds",
    "save_oof",
    "score_midi_path",
    "train",
    "train_head",
    "with_alignment",
]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
