"""Writes eval/feedback_profiles.jsonl: 24 score profiles in the scorer's contract, each with a
different pair of weak quality dimensions (and a few extra mild ones), varied pieces, lengths, levels.

Deterministic (seeded); re-run only to change the set: `python -m eval.make_feedback_profiles`."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

from scorer.dimensions import DIMENSIONS, QUALITY
from scorer.schema import DimensionScore, ScoreReport, Spot

OUT = Path(__file__).with_name("feedback_profiles.jsonl")
PIECES = [
    ("Nocturne in E-flat, Op. 9 No. 2", "Chopin"),
    ("Sonata in C, K. 545", "Mozart"),
    ("Für Elise", "Beethoven"),
    ("Prelude in C, BWV 846", "Bach"),
    ("Träumerei", "Schumann"),
    ("Clair de lune", "Debussy"),
    ("Waltz in A minor", "Chopin"),
    ("Invention No. 8", "Bach"),
    (None, None),
]
LEVELS = ["beginner", "intermediate", "advanced", None]


def profile(i: int, weak: tuple[str, str], rng: random.Random) -> dict:
    duration = rng.choice([45.0, 80.0, 120.0, 210.0])
    goodness = {d.name: rng.uniform(0.02, 0.12) for d in QUALITY}  # standing above neutral
    goodness[weak[0]] = rng.uniform(-0.20, -0.14)
    goodness[weak[1]] = rng.uniform(-0.13, -0.06)
    dims, spots = [], []
    for d in DIMENSIONS:
        if d.kind == "quality":
            neutral = 4 / 7 if d.desirable == "high" else 3 / 7
            g = neutral + goodness[d.name]
            score = g if d.desirable == "high" else 1 - g
            dims.append(
                DimensionScore(
                    name=d.name,
                    label=d.label,
                    group=d.group,
                    kind=d.kind,
                    score=round(score, 4),
                    uncertainty=round(rng.uniform(0.03, 0.08), 3),
                    goodness=round(g, 4),
                )
            )
        else:
            dims.append(
                DimensionScore(
                    name=d.name,
                    label=d.label,
                    group=d.group,
                    kind=d.kind,
                    score=round(4 / 7 + rng.uniform(-0.15, 0.15), 4),
                    uncertainty=round(rng.uniform(0.03, 0.08), 3),
                )
            )
    for j, name in enumerate(weak):
        for _ in range(rng.choice([1, 2])):
            start = round(rng.uniform(0, duration - 10), 1)
            bar = int(start / 2.5) + 1
            spots.append(
                Spot(
                    dimension=name,
                    start_s=start,
                    end_s=round(start + rng.uniform(4, 10), 1),
                    score=round(rng.uniform(0.3, 0.45), 3),
                    severity=round(0.9 - 0.2 * j - rng.uniform(0, 0.1), 3),
                    reason=f"{name} well below the reference",
                    bars=list(range(bar, bar + 3)),
                )
            )
    piece, composer = PIECES[i % len(PIECES)]
    report = ScoreReport(
        duration_s=duration,
        backend="profile",
        dimensions=dims,
        windows=[],
        weak_spots=sorted(spots, key=lambda s: s.start_s),
        strengths=[],
        source=f"profile-{i:02d}.wav",
    )
    return {
        "id": f"p{i:02d}",
        "piece": piece,
        "composer": composer,
        "level": LEVELS[i % len(LEVELS)],
        "weak": list(weak),
        "report": report.model_dump(mode="json"),
    }


def main() -> None:
    rng = random.Random(5)
    pairs = list(itertools.permutations([d.name for d in QUALITY], 2))
    rng.shuffle(pairs)
    chosen, firsts = [], {}
    for pair in pairs:  # every quality dimension weakest at least twice
        if firsts.get(pair[0], 0) < 3 and len(chosen) < 24:
            chosen.append(pair)
            firsts[pair[0]] = firsts.get(pair[0], 0) + 1
    with OUT.open("w", encoding="utf-8") as fh:
        for i, pair in enumerate(chosen):
            fh.write(json.dumps(profile(i, pair, rng)) + "\n")
    print(f"wrote {len(chosen)} profiles to {OUT}")


if __name__ == "__main__":
    main()
