"""The note-level report through the scorer service (issue 17): MIDI and a fluidsynth render of PercePiano's
Beethoven WoO 80 var. 8 (performer 2) with every note between 40% and 55% of its length a semitone higher,
against the passage's score MIDI. The acceptance case: the wrong notes are named in their bars, from the MIDI
and from the audio's transcription; the untouched render gets no wrong-note claim there."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import soundfile as sf

from scorer.inference.align import NotatedScore, load_score
from scorer.inference.service import Scorer

PIECE = "Beethoven_WoO80_var8_8bars"


@pytest.fixture(scope="module")
def scorer(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Scorer:
    from api.settings import Settings

    return Scorer.load(Settings(home=tmp_path_factory.mktemp("home"), shared_dir=shared_dir).scorer_config())


@pytest.fixture(scope="module")
def takes(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The untouched performance and the shifted one, as MIDI."""
    import pretty_midi

    out = tmp_path_factory.mktemp("takes")
    src = shared_dir / "data" / "percepiano" / "performance_midi" / f"{PIECE}_2_6.mid"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        midi = pretty_midi.PrettyMIDI(str(src))
    end = midi.get_end_time()
    for inst in midi.instruments:
        for n in inst.notes:
            if 0.40 * end <= n.start < 0.55 * end:
                n.pitch += 1
    midi.write(str(out / "shifted.mid"))
    return {"clean": src, "shifted": out / "shifted.mid"}


@pytest.fixture(scope="module")
def score(shared_dir: Path) -> NotatedScore:
    return load_score(shared_dir / "data" / "percepiano" / "score_midi" / f"{PIECE}_Score_6.mid")


def _rendered_note_errors(scorer: Scorer, takes, score, tmp_path: Path) -> tuple[list, list]:
    """The note errors of the untouched and the shifted take, each rendered with fluidsynth and scored."""
    from scorer.inference.render import RENDER_SR, render_midi_bytes

    errors = {}
    for name, midi in takes.items():
        wav = tmp_path / f"{name}.wav"
        sf.write(wav, render_midi_bytes(midi.read_bytes(), scorer.config.soundfont), RENDER_SR)
        errors[name] = scorer.score_path(wav, score=score).note_errors
    assert errors["clean"] is not None and errors["shifted"] is not None
    return errors["clean"], errors["shifted"]


def test_midi_report_names_wrong_notes_bars_curves_and_spots(scorer: Scorer, takes, score) -> None:
    report = scorer.score_path(takes["shifted"], score=score)
    assert report.note_errors is not None and report.bars is not None and report.curves is not None
    wrong = [e for e in report.note_errors if e.type == "wrong" and e.bar in (4, 5)]
    assert len(wrong) >= 55 and sum(
        e.played_pitch == (e.expected_pitch or 0) + 1 for e in wrong
    ) >= 0.95 * len(wrong)
    assert [b.bar for b in report.bars] == list(range(1, 9))
    following = report.score_following
    assert following is not None and following.bars_covered == [1, 8] and following.restarts == 0
    assert following.notes_from == "midi"
    assert len(following.passes) == 1
    spot = next(s for s in report.weak_spots if s.dimension == "wrong_notes")
    assert spot.bars == [4, 5] and spot.reason.startswith("bars 4\u20135: ")
    assert report.curves.tempo and report.curves.loudness
    dumped = report.model_dump(mode="json")
    assert dumped["note_errors"][0]["pass"] == 1 and dumped["bars"][0]["pass"] == 1
    # without a score: curves only
    plain = scorer.score_path(takes["shifted"])
    assert plain.note_errors is None and plain.bars is None
    assert plain.curves is not None and plain.curves.tempo and plain.curves.loudness


def test_audio_render_wrong_notes_in_their_bars_and_none_on_the_untouched_take(
    scorer: Scorer, takes, score, tmp_path: Path
) -> None:
    clean, shifted = _rendered_note_errors(scorer, takes, score, tmp_path)
    assert not [e for e in clean if e.type == "wrong" and e.bar in (3, 4, 5, 6)]
    wrong = [e for e in shifted if e.type == "wrong" and e.bar in (4, 5)]
    assert len(wrong) >= 34  # half of the 68 substitutions, through basic-pitch
    assert sum(e.played_pitch == (e.expected_pitch or 0) + 1 for e in wrong) >= 0.9 * len(wrong)
    assert len(clean) < 20  # the transcription's own slips are mostly forgiven


def test_config_transcriber_picks_the_note_path_transcriber_and_its_rules(scorer: Scorer) -> None:
    """``config.transcriber`` reaches the note path: transkun is built (once) and its notes are judged with
    the MIDI rules; basic-pitch stays the embedded backend's own transcriber, judged with the audio rules."""
    from dataclasses import replace

    from scorer.inference.transcribe import Transcriber
    from scorer.inference.transkun_transcriber import TranskunTranscriber

    assert scorer.config.transcriber == "basic-pitch"
    assert scorer.notes_transcriber_for(30.0) == scorer.notes_transcriber_for(600.0) == "basic-pitch"
    assert scorer._note_transcriber("basic-pitch") is scorer._backend.transcriber()  # type: ignore[attr-defined]
    assert isinstance(scorer._note_transcriber("basic-pitch"), Transcriber) and scorer._audio_rules(
        "basic-pitch"
    )
    accurate = Scorer(replace(scorer.config, transcriber="transkun"), scorer._backend)
    assert accurate.notes_transcriber_for(600.0) == "transkun"
    built = accurate._note_transcriber("transkun")
    assert isinstance(built, TranskunTranscriber) and accurate._note_transcriber("transkun") is built
    assert not accurate._audio_rules("transkun")
    # auto: transkun up to accurate_max_s, basic-pitch beyond (the analysis time goal for long takes)
    auto = Scorer(replace(scorer.config, transcriber="auto", accurate_max_s=120.0), scorer._backend)
    assert (
        auto.notes_transcriber_for(120.0) == "transkun" and auto.notes_transcriber_for(120.5) == "basic-pitch"
    )


@pytest.mark.needs_setup
def test_accurate_transcriber_hears_nearly_every_wrong_note_and_keeps_the_measured_evidence(
    scorer: Scorer, takes, score, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """transkun on the note path (bf16, a 16-s segment every 12 s): near-MIDI notes judged with the MIDI rules;
    basic-pitch still runs once for the perceptual heads and the measured weak spots."""
    pytest.importorskip("transkun", reason="installed by .ci/setup.d/45-transkun.sh")
    from dataclasses import replace

    accurate = Scorer(replace(scorer.config, transcriber="transkun"), scorer._backend)
    basic_pitch = scorer._backend.transcriber()  # type: ignore[attr-defined]
    calls = {"with_posteriors": 0, "notes_only": 0}
    for method, name in (("transcribe_with_evidence", "with_posteriors"), ("transcribe", "notes_only")):
        original = getattr(basic_pitch, method)

        def counted(*args, _original=original, _name=name, **kwargs):  # type: ignore[no-untyped-def]
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(basic_pitch, method, counted)
    clean, shifted = _rendered_note_errors(accurate, takes, score, tmp_path)
    wrong = [e for e in shifted if e.type == "wrong" and e.bar in (4, 5)]
    assert len(wrong) >= 60  # of the 68 substitutions; basic-pitch finds about half
    assert sum(e.played_pitch == (e.expected_pitch or 0) + 1 for e in wrong) >= 0.95 * len(wrong)
    # A wrong-note claim on the untouched render is allowed only where the take's own MIDI carries a slip at
    # that time with that pitch (the performer's, e.g. 86 for 87 in bar 6): transkun hears what was played.
    own = scorer.score_path(takes["clean"], score=score).note_errors or []
    invented = [
        e
        for e in clean
        if e.type == "wrong"
        and e.bar in (3, 4, 5, 6)
        and not any(abs(m.time_s - e.time_s) < 0.15 and m.played_pitch == e.played_pitch for m in own)
    ]
    assert not invented
    # basic-pitch ran once per take, with its posteriors (the measured weak spots read them; the heads its notes)
    assert calls == {"with_posteriors": 2, "notes_only": 0}


def test_a_take_played_through_twice_is_two_passes_all_matched(
    scorer: Scorer, takes, score, tmp_path: Path
) -> None:
    """The played share counts every pass: the first-stage alignment follows one pass only, so a take played
    twice through (a repeat, a second go) read as half matched (probe, 2026-12-07: 0.45-0.50)."""
    import pretty_midi

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        midi = pretty_midi.PrettyMIDI(str(takes["clean"]))
    gap = midi.get_end_time() + 1.0
    for inst in midi.instruments:
        inst.notes += [pretty_midi.Note(n.velocity, n.pitch, n.start + gap, n.end + gap) for n in inst.notes]
        inst.control_changes += [
            pretty_midi.ControlChange(c.number, c.value, c.time + gap) for c in inst.control_changes
        ]
    twice = tmp_path / "twice.mid"
    midi.write(str(twice))
    once = scorer.score_path(takes["clean"], score=score).score_following
    following = scorer.score_path(twice, score=score).score_following
    assert once is not None and following is not None and following.followed
    assert [(p.first_bar, p.last_bar) for p in following.passes or []] == [(1, 8), (1, 8)]
    assert following.matched_share > 0.9 and abs(following.matched_share - once.matched_share) < 0.02


def test_a_quiet_renders_tail_is_no_second_pass(scorer: Scorer, shared_dir: Path, tmp_path: Path) -> None:
    """TimGM6mb renders Schubert D960 ii (player 0) quietly and leaves ~20 s of tail at -93 dBFS, in which
    basic-pitch "heard" a dozen notes: the note path followed them as a second pass through bars 14-17, with a
    restart and four missed notes the take's MIDI does not have (probe, 2026-12-07). Notes that sound at no
    audible level are dropped before they meet the score."""
    from scorer.inference.render import RENDER_SR, render_midi_bytes

    p = shared_dir / "data" / "percepiano"
    midi = (p / "performance_midi" / "Schubert_D960_mv2_16bars_0_01.mid").read_bytes()
    wav = tmp_path / "timgm6mb.wav"
    sf.write(wav, render_midi_bytes(midi, Path("/usr/share/sounds/sf2/TimGM6mb.sf2")), RENDER_SR)
    report = scorer.score_path(
        wav, score=load_score(p / "score_midi" / "Schubert_D960_mv2_16bars_Score_01.mid")
    )
    following = report.score_following
    assert following is not None and following.followed
    assert following.restarts == 0 and len(following.passes or []) == 1
    assert not [e for e in report.note_errors or [] if e.type == "missed" and e.bar >= 14]
