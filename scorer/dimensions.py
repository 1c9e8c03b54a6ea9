"""The 19 PercePiano perceptual dimensions, in the dataset's label order.

``score`` values everywhere are PercePiano's own scale (mean 1-7 rating / 7), growing toward
``high_pole``. Poles were checked against the data (tests/scorer/test_dimensions.py):
index 1 low = short, high = long (r = +0.75 with pedal amount); index 9 is "sophisticated/mellow ..
raw/crude" (r = 0.78 with articulation touch); index 16 is energy (r = 0.74 with timbre loudness).

``kind`` says how to talk about a dimension:
- ``quality``: one pole is desirable (``desirable`` = "low" or "high"); weak spots sit on the other side.
- ``character``: neither pole is wrong; only an extreme for the passage is worth a remark.

Checked against the labels (tests/scorer/test_dimensions.py): every quality scale's desirable pole correlates
with "convincing" interpretation (r = 0.42-0.91), except two pedagogical conventions kept on purpose:
timing "unstable" (+0.18) and pedal "blurred" (+0.28) go slightly *with* convincing ratings in
PercePiano (raters reward rubato and legato pedalling). Weak spots on those two need a clear extreme.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Group = Literal[
    "timing", "articulation", "pedal", "timbre", "dynamics", "music making", "mood", "interpretation"
]


@dataclass(frozen=True)
class Dimension:
    index: int
    name: str  # snake_case, used in JSON
    label: str  # PercePiano's label
    group: Group
    low_pole: str
    high_pole: str
    kind: Literal["quality", "character"]
    desirable: Literal["low", "high"] | None  # None for character scales

    def goodness(self, score: float) -> float | None:
        """Score mapped so that higher is better (quality scales only)."""
        if self.desirable is None:
            return None
        return score if self.desirable == "high" else 1.0 - score


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension(
        0, "timing_stability", "Timing_Stable_Unstable", "timing", "stable", "unstable", "quality", "low"
    ),
    Dimension(
        1,
        "articulation_length",
        "Articulation_Short_Long",
        "articulation",
        "short",
        "long",
        "character",
        None,
    ),
    Dimension(
        2,
        "articulation_touch",
        "Articulation_Soft_cushioned_Hard_solid",
        "articulation",
        "soft/cushioned",
        "hard/solid",
        "character",
        None,
    ),
    Dimension(
        3,
        "pedal_amount",
        "Pedal_Sparse/dry_Saturated/wet",
        "pedal",
        "sparse/dry",
        "saturated/wet",
        "character",
        None,
    ),
    Dimension(4, "pedal_clarity", "Pedal_Clean_Blurred", "pedal", "clean", "blurred", "quality", "low"),
    Dimension(5, "timbre_variety", "Timbre_Even_Colorful", "timbre", "even", "colorful", "quality", "high"),
    Dimension(6, "timbre_depth", "Timbre_Shallow_Rich", "timbre", "shallow", "rich", "quality", "high"),
    Dimension(7, "timbre_brightness", "Timbre_Bright_Dark", "timbre", "bright", "dark", "character", None),
    Dimension(8, "timbre_loudness", "Timbre_Soft_Loud", "timbre", "soft", "loud", "character", None),
    Dimension(
        9,
        "dynamic_sophistication",
        "Dynamic_Sophisticated/mellow_Raw/crude",
        "dynamics",
        "sophisticated/mellow",
        "raw/crude",
        "quality",
        "low",
    ),
    Dimension(
        10,
        "dynamic_range",
        "Dynamic_Little_dynamic_range_Large_dynamic_range",
        "dynamics",
        "little range",
        "large range",
        "quality",
        "high",
    ),
    Dimension(
        11,
        "tempo",
        "Music_Making_Fast_paced_Slow_paced",
        "music making",
        "fast paced",
        "slow paced",
        "character",
        None,
    ),
    Dimension(
        12, "space", "Music_Making_Flat_Spacious", "music making", "flat", "spacious", "quality", "high"
    ),
    Dimension(
        13,
        "balance",
        "Music_Making_Disproportioned_Balanced",
        "music making",
        "disproportioned",
        "balanced",
        "quality",
        "high",
    ),
    Dimension(
        14,
        "drama",
        "Music_Making_Pure_Dramatic/expressive",
        "music making",
        "pure",
        "dramatic/expressive",
        "character",
        None,
    ),
    Dimension(
        15,
        "mood_valence",
        "Emotion_&_Mood_Optimistic/pleasant_Dark",
        "mood",
        "optimistic/pleasant",
        "dark",
        "character",
        None,
    ),
    Dimension(
        16,
        "mood_energy",
        "Emotion_&_Mood_Low_Energy_High_Energy",
        "mood",
        "low energy",
        "high energy",
        "character",
        None,
    ),
    Dimension(
        17,
        "mood_imagination",
        "Emotion_&_Mood_Honest_Imaginative",
        "mood",
        "honest",
        "imaginative",
        "character",
        None,
    ),
    Dimension(
        18,
        "interpretation",
        "Interpretation_Unsatisfactory/doubtful_Convincing",
        "interpretation",
        "unsatisfactory/doubtful",
        "convincing",
        "quality",
        "high",
    ),
)

BY_NAME: dict[str, Dimension] = {d.name: d for d in DIMENSIONS}
NAMES: tuple[str, ...] = tuple(d.name for d in DIMENSIONS)
QUALITY: tuple[Dimension, ...] = tuple(d for d in DIMENSIONS if d.kind == "quality")
