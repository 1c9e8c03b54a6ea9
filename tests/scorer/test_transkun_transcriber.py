"""transkun (accurate mode) behind scorer.inference.transkun_transcriber: installed without its declared
dependencies, torchaudio replaced by the pure-torch stand-in only while the model is built."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("transkun", reason="installed by .ci/setup.d/45-transkun.sh")

from eval.bench_transcription import reference_notes, scores  # noqa: E402
from scorer.inference.decode import parse_midi  # noqa: E402
from scorer.inference.render import render_midi_bytes  # noqa: E402
from scorer.inference.transcribe import load_transcriber  # noqa: E402
from scorer.inference.transkun_transcriber import TranskunTranscriber  # noqa: E402

pytestmark = [pytest.mark.needs_setup, pytest.mark.slow]  # a 4-s clip is three 16-s segments: ~30-60 s


def _first_seconds(midi_file: Path, seconds: float, out: Path) -> Path:
    """The performance's notes that start before ``seconds`` (a short clip keeps the test cheap)."""
    midi = parse_midi(midi_file)
    for inst in midi.instruments:
        inst.notes = [n for n in inst.notes if n.start < seconds]
        inst.control_changes = [c for c in inst.control_changes if c.time < seconds]
    midi.write(str(out))
    return out


def test_transkun_transcribes_a_render_to_the_notes_played(shared_dir: Path, tmp_path: Path) -> None:
    midi_file = shared_dir / "data/percepiano/performance_midi/Beethoven_WoO80_var8_8bars_2_6.mid"
    clip = _first_seconds(midi_file, 4.0, tmp_path / "clip.mid")
    audio = render_midi_bytes(clip.read_bytes(), Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"))
    had_torchaudio = "torchaudio" in sys.modules

    transcriber = load_transcriber("transkun", threads=2)
    notes = transcriber.transcribe(audio, 22050)

    assert isinstance(transcriber, TranskunTranscriber)
    # the stand-in was registered for the model's construction only
    assert ("torchaudio" in sys.modules) == had_torchaudio
    truth = reference_notes(clip)
    assert len(notes.onset) > 10
    assert np.all(np.diff(notes.onset) >= 0) and np.all(notes.offset >= notes.onset)
    assert notes.velocity.min() >= 1 and notes.velocity.max() <= 127
    assert scores(truth, notes)["onset_f1"] >= 0.9  # 0.987 on the whole clip (eval/results/transcription.md)
