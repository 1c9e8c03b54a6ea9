"""Weak-spot rules (scorer.inference.spots) on window scores chosen in the test: how far a dimension sits from
what is expected of the passage, in spreads, decides a weak spot and its severity."""

from __future__ import annotations

import numpy as np
import pytest

from scorer.dimensions import BY_NAME, DIMENSIONS
from scorer.inference.spots import (
    Z_CHARACTER,
    Z_WEAK,
    Expectation,
    Reference,
    find_spots,
    passage_expectation,
    population_expectation,
)

D = len(DIMENSIONS)
SPREAD = 0.05
EXPECT = Expectation(np.full(D, 0.5), np.full(D, SPREAD), "performances of this passage")
REFERENCE = Reference(np.column_stack([np.linspace(0.0, 1.0, 101)] * D))
RMSE = np.full(D, 0.05)
SPANS = [(0.0, 15.0), (7.5, 22.5), (15.0, 30.0)]


def _windows(**z: tuple[float, float, float]) -> np.ndarray:
    """Window scores at the expectation, except the named dimensions, given in spreads (raw direction)."""
    w = np.full((len(SPANS), D), 0.5)
    for name, zs in z.items():
        w[:, BY_NAME[name].index] = 0.5 + SPREAD * np.asarray(zs)
    return w


def _weak(w: np.ndarray, **kw) -> list:
    kw.setdefault("expected", EXPECT)
    weak, _ = find_spots(SPANS, w, w.mean(0), RMSE, REFERENCE, **kw)
    return weak


def test_at_the_expectation_nothing_is_weak() -> None:
    assert _weak(_windows()) == []


def test_a_window_past_the_threshold_on_the_undesirable_side_is_a_weak_spot_there() -> None:
    # pedal clarity grows toward "blurred" (undesirable); balance grows toward "balanced" (desirable)
    w = _windows(pedal_clarity=(0.0, Z_WEAK + 1.0, 0.0), balance=(0.0, 0.0, -(Z_WEAK + 0.2)))
    weak = _weak(w)
    assert [(s.dimension, s.start_s, s.end_s) for s in weak] == [
        ("pedal_clarity", 7.5, 22.5),
        ("balance", 15.0, 30.0),
    ]
    assert weak[0].severity > weak[1].severity  # further out -> more severe, across dimensions
    assert "blurred" in weak[0].reason and "this passage" in weak[0].reason


def test_the_desirable_side_is_never_weak_however_far() -> None:
    assert _weak(_windows(pedal_clarity=(-5, -5, -5), balance=(5, 5, 5))) == []


def test_the_expectation_decides() -> None:
    """The same scores are weak against one passage's expectation and normal for another's (a slow movement is
    'blurred' in every performance)."""
    w = _windows(pedal_clarity=(2.5, 2.5, 2.5))
    assert [s.dimension for s in _weak(w)] == ["pedal_clarity"]
    wet = EXPECT.mean.copy()
    wet[BY_NAME["pedal_clarity"].index] += 2.0 * SPREAD
    assert _weak(w, expected=Expectation(wet, EXPECT.spread, "x")) == []


def test_worse_than_the_earlier_take_is_named_sooner() -> None:
    w = _windows(timing_stability=(0.8, 0.8, 0.8))
    assert _weak(w) == []
    earlier = w.mean(0).copy()
    earlier[BY_NAME["timing_stability"].index] -= 1.2 * SPREAD  # was steadier by 1.2 spreads
    weak = _weak(w, earlier=earlier)
    assert [s.dimension for s in weak] == ["timing_stability"] and "earlier take" in weak[0].reason
    same = _weak(w, earlier=w.mean(0))
    assert same == []


def test_character_scales_only_at_an_extreme_and_ranked_below_problems() -> None:
    assert _weak(_windows(tempo=(Z_CHARACTER - 0.3,) * 3)) == []
    weak = _weak(_windows(tempo=(Z_CHARACTER + 1,) * 3, balance=(-(Z_WEAK + 1),) * 3))
    assert [s.dimension for s in weak] == ["balance", "tempo"]
    assert weak[1].reason.startswith("character: very slow paced")


def test_severity_is_bounded_and_ranked() -> None:
    w = _windows(pedal_clarity=(40, 40, 40), balance=(-2, -2, -2), timing_stability=(3, 3, 3))
    weak = _weak(w)
    sev = [s.severity for s in weak]
    assert sev == sorted(sev, reverse=True) and all(0 <= s <= 1 for s in sev) and sev[0] == 1.0


def test_population_and_passage_expectations() -> None:
    pop = population_expectation()
    assert pop.mean.shape == (D,) and (pop.spread > 0).all()
    passage = passage_expectation([np.full(D, 0.4), np.full(D, 0.6)])
    assert passage.mean == pytest.approx(np.full(D, 0.5))
    assert (passage.spread > 0).all() and (
        passage.spread < pop.spread
    ).mean() > 0.5  # the music explains much
    with pytest.raises(ValueError):
        passage_expectation([])


def test_shuffled_dimensions_name_other_problems() -> None:
    """Signal ablation on the rule itself: the same numbers given to other dimensions name those."""
    w = _windows(pedal_clarity=(3, 3, 3), balance=(-3, -3, -3))
    perm = np.roll(np.arange(D), 1)  # every dimension takes its neighbour's values
    names = {s.dimension for s in _weak(w)}
    shuffled = {s.dimension for s in _weak(w[:, perm])}
    assert names == {"pedal_clarity", "balance"} and shuffled != names


def test_a_passage_clearly_worse_than_the_rest_of_the_recording_is_weak() -> None:
    """A long take: one window below the student's own level by more than 2 passage spreads is named even when
    it is not far from the expectation; the same value everywhere is not."""
    spans = [(7.5 * i, 7.5 * i + 15) for i in range(8)]
    w = np.full((8, D), 0.5)
    t = BY_NAME["timing_stability"].index  # grows toward "unstable"
    w[:, t] = 0.5 - 0.02
    w[4, t] = 0.5 + 1.2 * SPREAD  # short of Z_WEAK, but 0.08 above the others (0.48): > 2 passage spreads
    weak, _ = find_spots(spans, w, w.mean(0), RMSE, REFERENCE, expected=EXPECT)
    assert [(s.dimension, s.start_s) for s in weak] == [("timing_stability", 30.0)]
    assert "below the rest of this recording" in weak[0].reason
    w[:, t] = 0.5 + 0.5 * SPREAD
    assert find_spots(spans, w, w.mean(0), RMSE, REFERENCE, expected=EXPECT)[0] == []


def test_the_summary_scale_ranks_below_an_equally_far_specific_problem() -> None:
    """Interpretation sums up the performance (every specific problem lowers it): at the same distance, the
    specific scale comes first."""
    w = _windows(interpretation=(-3, -3, -3), balance=(-3, -3, -3))
    assert [s.dimension for s in _weak(w)] == ["balance", "interpretation"]
