"""Window spans, context spans, bar-time parsing and the label reference, on numbers chosen in the test."""

from __future__ import annotations

import numpy as np
import pytest

from scorer.errors import RecordingError
from scorer.inference.spots import Reference, parse_bar_times
from scorer.inference.windows import HOP_S, WINDOW_S, aggregate, centre_weights, context_spans, window_spans


def test_window_and_hop_are_15_and_7_5_seconds() -> None:
    assert (WINDOW_S, HOP_S) == (15.0, 7.5)


def test_thirty_seconds_are_three_half_overlapping_windows() -> None:
    assert window_spans(30.0) == [(0.0, 15.0), (7.5, 22.5), (15.0, 30.0)]


def test_up_to_a_window_and_a_quarter_is_one_window() -> None:
    assert window_spans(18.75) == [(0.0, 18.75)]
    assert window_spans(0.5) == [(0.0, 0.5)]


def test_the_last_window_is_end_aligned() -> None:
    assert window_spans(20.0) == [(0.0, 15.0), (5.0, 20.0)]
    assert window_spans(40.0)[-1] == (25.0, 40.0)


def test_two_equal_windows_weigh_the_same() -> None:
    w = centre_weights([(0.0, 15.0), (15.0, 30.0)], 30.0)
    assert w == pytest.approx([0.5, 0.5])
    assert aggregate(np.array([[1.0, 4.0], [3.0, 0.0]]), w) == pytest.approx([2.0, 2.0])


def test_context_spans_slide_to_stay_inside() -> None:
    spans = [(0.0, 15.0), (7.5, 22.5), (30.0, 45.0)]
    assert context_spans(spans, 45.0) == [(0.0, 30.0), (0.0, 30.0), (15.0, 45.0)]
    assert context_spans([(0.0, 12.0)], 12.0) == [(0.0, 12.0)]


def test_bar_times_parse_and_empty_means_none() -> None:
    assert parse_bar_times("0, 2.1,4.3") == [0.0, 2.1, 4.3]
    assert parse_bar_times("") is None and parse_bar_times(None) is None and parse_bar_times(" , ") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0,two,4", "score_bars must be comma-separated"),
        ("0,nan,4", "score_bars must be finite"),
        ("0,3,3", "score_bars must be increasing"),
        ("5,1", "score_bars must be increasing"),
    ],
)
def test_bad_bar_times_name_the_field(text: str, message: str) -> None:
    with pytest.raises(RecordingError, match=message):
        parse_bar_times(text, "score_bars")


def test_reference_percentile_interpolates_the_quantiles() -> None:
    quantiles = np.column_stack([np.linspace(0.0, 1.0, 101), np.linspace(-2.0, 2.0, 101)])
    ref = Reference(quantiles)
    assert ref.percentile(0, 0.25) == pytest.approx(25.0)
    assert ref.percentile(1, 0.0) == pytest.approx(50.0)
    assert ref.percentile(1, -5.0) == 0.0 and ref.percentile(1, 5.0) == 100.0
