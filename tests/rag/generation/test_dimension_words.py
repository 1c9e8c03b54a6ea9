"""Words for scores agree with the scorer: a low-is-good scale at a low percentile is good, and what the
scorer calls a weak spot (or a strength) is never graded the other way in the feedback."""

from __future__ import annotations

from pathlib import Path

from api.settings import Settings
from rag.generation.dimension_words import grade, standing, strongest, weakest_two
from scorer.dimensions import BY_NAME
from scorer.inference.service import Scorer
from scorer.schema import DimensionScore


def _score(name: str, percentile: float) -> DimensionScore:
    dim = BY_NAME[name]
    return DimensionScore(
        name=name,
        label=dim.label,
        group=dim.group,
        kind=dim.kind,
        score=0.5,
        uncertainty=0.1,
        goodness=dim.goodness(0.5),
        percentile=percentile,
    )


def test_percentiles_are_read_toward_the_desirable_pole() -> None:
    assert BY_NAME["timing_stability"].desirable == "low" and BY_NAME["interpretation"].desirable == "high"
    assert grade(_score("timing_stability", 5)) == "very good"  # low score = stable timing
    assert grade(_score("timing_stability", 95)) == "weak"
    assert grade(_score("interpretation", 95)) == "very good"
    assert grade(_score("interpretation", 5)) == "weak"
    # timing at the 90th raw percentile (unstable) is worse than interpretation at the 20th (unconvincing)
    assert (
        standing(_score("timing_stability", 90))
        < standing(_score("interpretation", 20))
        < standing(_score("pedal_clarity", 5))
    )


def test_the_example_is_graded_as_the_scorer_judges_it(shared_dir: Path, tmp_path: Path) -> None:
    scorer = Scorer.load(Settings(home=tmp_path / "home", shared_dir=shared_dir).scorer_config())
    report = scorer.score_path(shared_dir / "data/percepiano/examples/Beethoven_WoO80_var27_8bars_3_15.wav")
    by_name = {d.name: d for d in report.dimensions}
    weak = {s.dimension for s in report.weak_spots if BY_NAME[s.dimension].kind == "quality"}
    assert weak
    for name in weak:
        assert grade(by_name[name]) in ("weak", "below average", "average"), (name, by_name[name])
    for s in report.strengths:
        assert grade(by_name[s.dimension]) in ("good", "very good"), (s.dimension, by_name[s.dimension])
    # the feedback's two weakest start with the weak spots (the scorer's judgement), then the lowest standing
    two = weakest_two(report)
    assert set(two[: len(weak)]) <= weak and two[0] in weak
    assert strongest(report) not in weak
