"""Which transcribed notes sound at all: a note "heard" in a render's tail or a recording's noise floor (at
the take's floor, far under its loud level) is dropped; soft music is kept. Needs no model."""

from __future__ import annotations

import numpy as np

from scorer.inference.features import Notes
from scorer.inference.levels import audible, frame_rms

SR = 22050


def _notes(onsets: list[float]) -> Notes:
    on = np.asarray(onsets, dtype=np.float64)
    return Notes(on, on + 0.3, np.full(on.size, 60.0), np.full(on.size, 64.0), [])


def _take(music_dbfs: float, tail_dbfs: float, music_s: float = 6.0, tail_s: float = 4.0) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(music_s * SR)) / SR
    music = 10 ** (music_dbfs / 20) * np.sqrt(2) * np.sin(2 * np.pi * 261.6 * t)
    tail = 10 ** (tail_dbfs / 20) * rng.standard_normal(int(tail_s * SR))
    return np.concatenate([music, tail]).astype(np.float32)


def test_notes_in_a_digital_tail_are_dropped_and_the_music_kept() -> None:
    audio = _take(music_dbfs=-50.0, tail_dbfs=-93.0)  # a quiet render, as TimGM6mb's
    kept = audible(_notes([0.5, 3.0, 5.8, 7.0, 9.0]), audio, SR)
    assert kept.onset.tolist() == [0.5, 3.0, 5.8]


def test_notes_in_room_noise_far_under_the_music_are_dropped_and_a_soft_take_is_kept() -> None:
    noisy = _take(music_dbfs=-20.0, tail_dbfs=-60.0)  # room noise 40 dB under the music
    assert audible(_notes([1.0, 7.0]), noisy, SR).onset.tolist() == [1.0]
    normalised = _take(music_dbfs=-20.0, tail_dbfs=-79.0)  # the same tail, the render normalised to its peak
    assert audible(_notes([1.0, 7.0]), normalised, SR).onset.tolist() == [1.0]
    soft = _take(music_dbfs=-75.0, tail_dbfs=-85.0, tail_s=0.1)  # soft, no silence: its floor is music
    assert audible(_notes([1.0, 5.0]), soft, SR).onset.tolist() == [1.0, 5.0]
    close = _take(music_dbfs=-40.0, tail_dbfs=-60.0)  # a tail only 20 dB under the music: maybe music
    assert audible(_notes([1.0, 7.0]), close, SR).onset.tolist() == [1.0, 7.0]


def test_frame_levels_and_empty_input() -> None:
    assert frame_rms(np.ones(SR, dtype=np.float32), SR).shape == (20,)
    empty = _notes([])
    assert audible(empty, np.zeros(SR, dtype=np.float32), SR) is empty
    assert audible(_notes([0.1]), np.zeros(10, dtype=np.float32), SR).onset.tolist() == [0.1]
