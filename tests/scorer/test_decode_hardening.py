"""Issue 21: a probe decodes the first second of audio (a header alone passes no more), and messages call
the file by the name the caller gives (an upload is stored under a generated name)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from scorer.errors import RecordingError
from scorer.inference.decode import decode, probe

SR = 22_050


def _wav(path: Path, seconds: float, amplitude: float = 0.3) -> bytes:
    t = np.arange(int(seconds * SR)) / SR
    sf.write(path, (amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float32), SR, subtype="PCM_16")
    return path.read_bytes()


@pytest.mark.parametrize("keep_s", [0.0, 0.2, 0.9])
def test_a_wav_cut_short_of_a_second_fails_the_probe(tmp_path: Path, keep_s: float) -> None:
    whole = _wav(tmp_path / "whole.wav", 10.0)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole[: 44 + int(keep_s * SR) * 2])  # the header still says 10 s
    with pytest.raises(RecordingError, match=r"cut\.wav: .*at least 1 s is needed"):
        probe(cut, 900.0)


def test_a_second_of_audio_under_a_longer_header_passes(tmp_path: Path) -> None:
    whole = _wav(tmp_path / "whole.wav", 10.0)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole[: 44 + int(1.5 * SR) * 2])
    assert probe(cut, 900.0) == pytest.approx(1.5, abs=0.01)


def test_messages_use_the_given_name(tmp_path: Path) -> None:
    staged = tmp_path / "0123456789abcdef0123456789abcdef.wav"
    _wav(staged, 0.5)
    with pytest.raises(RecordingError) as err:
        probe(staged, 900.0, name="my take.wav")
    assert err.value.message.startswith("my take.wav: ") and staged.stem not in err.value.message
    _wav(staged, 2.0, amplitude=0.0)
    with pytest.raises(RecordingError) as err:
        decode(staged, max_duration_s=900.0, soundfont=tmp_path / "none.sf2", name="my take.wav")
    assert err.value.message == "my take.wav: the recording is silent"
    with pytest.raises(
        RecordingError, match=r"^0123456789abcdef0123456789abcdef\.wav: the recording is silent$"
    ):
        decode(staged, max_duration_s=900.0, soundfont=tmp_path / "none.sf2")
