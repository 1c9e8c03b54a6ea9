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


def test_bfloat16_autocast_keeps_the_notes(shared_dir: Path, tmp_path: Path) -> None:
    """bf16 (the default where the CPU multiplies bfloat16 in hardware) hears the same notes as float32:
    onset F1 0.990 for both on 12 clips (eval/results/transcription.md), here on a short clip."""
    midi_file = shared_dir / "data/percepiano/performance_midi/Schubert_D960_mv3_8bars_0_09.mid"
    clip = _first_seconds(midi_file, 4.0, tmp_path / "clip.mid")
    audio = render_midi_bytes(clip.read_bytes(), Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"))

    float32 = TranskunTranscriber(2, bf16=False).transcribe(audio, 22050)
    bfloat16 = TranskunTranscriber(2, bf16=True).transcribe(audio, 22050)

    assert len(float32.onset) > 10
    assert scores(float32, bfloat16)["onset_f1"] >= 0.95
    assert scores(reference_notes(clip), bfloat16)["onset_f1"] >= 0.9
