"""Windowing and centre-weighted aggregation."""

from __future__ import annotations

import numpy as np
import pytest

from scorer.inference.windows import (
    CONTEXT_S,
    HOP_S,
    WINDOW_S,
    aggregate,
    centre_weights,
    context_spans,
    window_spans,
)


@pytest.mark.parametrize("duration", [1.0, 14.0, 18.0, 19.0, 37.3, 300.0, 1800.0])
def test_spans_cover_the_recording(duration: float) -> None:
    spans = window_spans(duration)
    assert spans[0][0] == 0.0 and spans[-1][1] == pytest.approx(duration)
    for (a0, b0), (a1, _b1) in zip(spans, spans[1:], strict=False):
        assert a1 > a0 and a1 <= b0  # overlapping or touching, never a gap
    if duration > WINDOW_S * 1.25:
        assert all(b - a == pytest.approx(WINDOW_S) for a, b in spans)
        if len(spans) > 2:
            assert spans[1][0] - spans[0][0] == pytest.approx(HOP_S)  # 50% overlap
        assert all(
            b1 - a1 <= HOP_S + 1e-9 or a1 - a0 <= HOP_S + 1e-9
            for (a0, _), (a1, b1) in zip(spans, spans[1:], strict=False)
        )


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


def test_context_spans_are_centred_and_stay_inside() -> None:
    spans = window_spans(120.0)
    ctx = context_spans(spans, 120.0)
    assert len(ctx) == len(spans)
    for (a, b), (c, d) in zip(spans, ctx, strict=False):
        assert 0.0 <= c <= a and b <= d <= 120.0  # the window lies inside its context
        assert d - c == pytest.approx(CONTEXT_S)  # slid at the edges, never cut
    mid = len(spans) // 2
    assert (ctx[mid][0] + ctx[mid][1]) / 2 == pytest.approx((spans[mid][0] + spans[mid][1]) / 2)
    assert context_spans([(0.0, 20.0)], 20.0) == [
        (0.0, 20.0)
    ]  # shorter than the context: the whole recording
