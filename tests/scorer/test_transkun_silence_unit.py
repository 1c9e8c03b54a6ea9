"""The silence around a recording is cut before transkun hears it (each 16-s segment costs ~2 s on 2 cores)
and the notes are shifted back to the recording's own time. Needs no model."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from scorer.inference.transkun_transcriber import SUSTAIN, notes_from_events, sounding_span

SR = 44100


def test_the_sounding_span_is_the_music_and_a_margin() -> None:
    y = np.zeros(SR * 10, dtype=np.float32)
    y[SR * 3 : SR * 5] = 0.5 * np.sin(np.arange(SR * 2) / 10)
    y[SR * 6] = 1e-5  # a click 100 dB below the music is silence
    assert sounding_span(y, SR) == (int(2.5 * SR), int(5.5 * SR))


def test_a_quiet_ending_under_the_pedal_is_kept() -> None:
    t = np.arange(SR * 8) / SR
    y = (np.sin(2 * np.pi * 440 * t) * np.exp(-t / 1.5)).astype(np.float32)  # -46 dB after 8 s
    first, last = sounding_span(y, SR)
    assert first == 0 and last == len(y)


def test_silence_and_empty_clips_have_no_span() -> None:
    assert sounding_span(np.zeros(SR, dtype=np.float32), SR) == (0, 0)
    assert sounding_span(np.zeros(0, dtype=np.float32), SR) == (0, 0)


def test_notes_are_shifted_back_to_the_recording_s_time() -> None:
    events = [
        SimpleNamespace(start=0.2, end=0.9, pitch=60, velocity=70.4),
        SimpleNamespace(start=0.0, end=1.5, pitch=SUSTAIN, velocity=0),
    ]
    notes = notes_from_events(events, shift_s=2.5)
    assert notes.onset.tolist() == [2.7] and notes.offset.tolist() == [3.4]
    assert notes.pitch.tolist() == [60] and notes.velocity.tolist() == [70]
    assert notes.pedal == [(2.5, 4.0)]
