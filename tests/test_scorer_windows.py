"""Windowing and centre-weighted aggregation."""

from __future__ import annotations

import numpy as np
import pytest

from scorer.windows import HOP_S, WINDOW_S, aggregate, centre_weights, training_spans, window_spans


@pytest.mark.parametrize("duration", [1.0, 14.0, 18.0, 19.0, 37.3, 300.0, 1800.0])
def test_spans_cover_the_recording(duration: float) -> None:
    spans = window_spans(duration)
    assert spans[0][0] == 0.0 and spans[-1][1] == pytest.approx(duration)
    for (a0, b0), (a1, b1) in zip(spans, spans[1:]):
        assert a1 > a0 and a1 <= b0  # overlapping or touching, never a gap
    if duration > WINDOW_S * 1.25:
        assert all(b - a == pytest.approx(WINDOW_S) for a, b in spans)
        if len(spans) > 2:
            assert spans[1][0] - spans[0][0] == pytest.approx(HOP_S)  # 50% overlap
        assert all(b1 - a1 <= HOP_S + 1e-9 or a1 - a0 <= HOP_S + 1e-9 for (a0, _), (a1, b1) in zip(spans, spans[1:]))


def test_short_recording_is_one_window() -> None:
    assert window_spans(16.0) == [(0.0, 16.0)]


def test_weights_favour_centres_and_sum_to_one() -> None:
    spans = window_spans(60.0)
    w = centre_weights(spans, 60.0)
    assert w.sum() == pytest.approx(1.0)
    assert (w > 0).all()
    # interior windows share time with two neighbours: equal weights; the end-aligned last window
    # overlaps its neighbour more, so it weighs less than an interior one
    interior = w[1:-1]
    assert np.allclose(interior[1:-1], interior[1], rtol=0.05)


def test_aggregate_of_constant_windows_is_that_constant() -> None:
    spans = window_spans(100.0)
    w = centre_weights(spans, 100.0)
    scores = np.tile(np.linspace(0.2, 0.8, 19), (len(spans), 1))
    assert np.allclose(aggregate(scores, w), scores[0])


def test_aggregate_follows_the_longer_part() -> None:
    """A change at 75% of the recording: the whole-recording score sits nearer the first part's value."""
    spans = window_spans(120.0)
    w = centre_weights(spans, 120.0)
    scores = np.array([[0.2] if (a + b) / 2 < 90 else [0.8] for a, b in spans])
    assert 0.2 < aggregate(scores, w)[0] < 0.5


def test_training_spans_do_not_overlap_much() -> None:
    spans = training_spans(40.0)
    assert len(spans) == 3 and spans[-1][1] == pytest.approx(40.0)
    assert training_spans(10.0) == [(0.0, 10.0)]
