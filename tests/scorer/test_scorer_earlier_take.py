"""The student's earlier take reaches the weak spots through the service (issue 18): a real PercePiano take
compared with a clearly better earlier take of it names a scale with "earlier take" in its reason; without
the earlier take no reason mentions one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scorer.dimensions import DIMENSIONS
from scorer.inference.decode import decode
from scorer.inference.service import Scorer
from scorer.inference.spots import population_expectation

TAKE = "data/percepiano/performance_midi/Beethoven_WoO80_var8_8bars_1_6.mid"


@pytest.fixture(scope="module")
def scorer(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Scorer:
    from api.settings import Settings

    return Scorer.load(Settings(home=tmp_path_factory.mktemp("home"), shared_dir=shared_dir).scorer_config())


def _better(overall: np.ndarray) -> np.ndarray:
    """An earlier take two population spreads better than ``overall`` on every quality scale."""
    spread = population_expectation().spread
    earlier = overall.copy()
    for dim in DIMENSIONS:
        if dim.kind == "quality":
            step = 2.0 * float(spread[dim.index])
            earlier[dim.index] += step if dim.desirable == "high" else -step
    return earlier


def test_a_worse_take_than_the_earlier_one_names_the_change(scorer: Scorer, shared_dir: Path) -> None:
    config = scorer.config
    decoded = decode(
        shared_dir / TAKE, max_duration_s=config.max_duration_s, soundfont=config.soundfont, name="take.mid"
    )
    alone = scorer.score_decoded(decoded, source_name="take.mid")
    assert not any("earlier take" in s.reason for s in alone.weak_spots)

    overall = np.asarray([d.score for d in alone.dimensions])
    compared = scorer.score_decoded(decoded, source_name="take.mid", earlier=_better(overall))
    changed = [s for s in compared.weak_spots if "than your earlier take" in s.reason]
    assert changed, [s.reason for s in compared.weak_spots]
    quality = {d.name for d in DIMENSIONS if d.kind == "quality"}
    assert {s.dimension for s in changed} <= quality
    # the same recording: the scores do not depend on the earlier take, only the weak spots do
    assert [d.score for d in compared.dimensions] == [d.score for d in alone.dimensions]
