"""eval.bench_signal_spots: the summary counts spots on the side of each threshold, the simulated room keeps the
take's length and peak, and an unknown fault is refused before anything is rendered."""

from __future__ import annotations

import numpy as np

from eval import bench_signal_spots as bench
from scorer.inference import signal_spots as sig


def test_summary_counts_spots_by_each_thresholds_side() -> None:
    rows = [
        {"fault": "clean", "blur_audio": 0.1, "level_spread_db": 3.0},
        {"fault": "clean", "blur_audio": sig.BLUR_AUDIO, "level_spread_db": sig.FLAT_LEVEL_DB},
        {"fault": "flat_dynamics", "blur_audio": 0.05, "level_spread_db": 1.0, "top_voice_margin": None},
    ]
    summary = bench.summarise(rows)
    assert summary["clean"]["blur_audio"] == {"n": 2, "min": 0.1, "median": 0.17, "max": 0.24, "spot": "1/2"}
    assert summary["clean"]["level_spread_db"]["spot"] == "1/2"  # at the threshold: a spot
    assert summary["flat_dynamics"]["level_spread_db"]["spot"] == "1/1"
    assert "top_voice_margin" not in summary["flat_dynamics"]  # not measured: not summarised


def test_room_keeps_length_and_peak_and_adds_a_tail() -> None:
    audio = np.zeros(22050, dtype=np.float32)
    audio[100] = 0.8
    wet = bench.room(audio, 22050, 0.5)
    assert wet.shape == audio.shape and np.isclose(np.abs(wet).max(), 0.8)
    assert np.abs(wet[5000:6000]).max() > 0  # the room rings on after the click


def test_unknown_fault_is_refused(capsys) -> None:
    assert bench.main(["--faults", "clean,nonsense"]) == 2
    assert "unknown fault(s): nonsense" in capsys.readouterr().err
