"""Score files read safely (scorer/inference/score_files.py): real PercePiano score MIDI, MusicXML exported by
partitura from it, the same compressed as .mxl, and every committed bad file under tests/data/bad_scores/
(each refused with the error class the API maps to 415 / 413 / 400); `cadenza score --score BAD` turns each
into one line and exit 2."""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from api.errors import status_of
from scorer.errors import NotAScore, RecordingError, RecordingTooLarge, UnsafeScore
from scorer.inference.score_files import (
    MAX_INFLATE_RATIO,
    ScoreFile,
    read_score_bytes,
    read_score_file,
)

REPO = Path(__file__).resolve().parents[2]
BAD = REPO / "tests" / "data" / "bad_scores"
SCORE_MIDI = "Beethoven_WoO80_var8_8bars_Score_6.mid"
PERFORMANCE_MIDI = "Beethoven_WoO80_var8_8bars_2_6.mid"


def _bad_scores_module():
    spec = importlib.util.spec_from_file_location("make_bad_scores", BAD / "make_bad_scores.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BAD_SCORES: dict[str, int] = _bad_scores_module().EXPECTED
# What each bad file's one-line message must say (so the student knows what to fix).
MESSAGES = {
    "billion_laughs.musicxml": "DTD",
    "external_entity.musicxml": "DTD",
    "no_notes.musicxml": "no notes",
    "timewise.musicxml": "partwise",
    "malformed.musicxml": "unreadable XML",
    "empty.musicxml": "empty",
    "truncated.mid": "unreadable score MIDI",
    "no_notes.mid": "no notes",
    "zip_bomb.mxl": "inflates",
    "not_a_score.xml": "not a MusicXML score",
    "not_a_score.pdf": "not a score file",
    "plain_zip.mxl": "not compressed MusicXML",
}

MINIMAL_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE score-partwise PUBLIC "-//Recordare//DTD MusicXML 4.0 Partwise//EN" '
    '"http://www.musicxml.org/dtds/partwise.dtd">\n'
    "<score-partwise><!-- a comment --><part-list><score-part id='P1'><part-name>Piano</part-name>"
    "</score-part></part-list><part id='P1'><measure number='1'><attributes><divisions>1</divisions>"
    "<time><beats>4</beats><beat-type>4</beat-type></time></attributes>"
    "<note><pitch><step>F</step><alter>1</alter><octave>4</octave></pitch><duration>4</duration></note>"
    "</measure></part></score-partwise>\n"
)


def _mxl(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def _container(rootfile: str = "score.musicxml") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><container><rootfiles>'
        f'<rootfile full-path="{rootfile}" media-type="application/vnd.recordare.musicxml+xml"/>'
        "</rootfiles></container>"
    ).encode()


@pytest.fixture(scope="module")
def exported_musicxml(tmp_path_factory: pytest.TempPathFactory, shared_dir: Path) -> Path:
    """PercePiano's score MIDI of WoO 80 var. 8 exported as MusicXML by partitura (DOCTYPE and comments)."""
    import partitura

    out = tmp_path_factory.mktemp("musicxml") / "woo80_var8.musicxml"
    with pytest.warns(UserWarning):  # partitura narrates its MIDI import through warnings
        score = partitura.load_score_midi(str(shared_dir / "data/percepiano/score_midi" / SCORE_MIDI))
    partitura.save_musicxml(score, str(out))
    return out


def test_committed_bad_scores_are_what_the_generator_writes(tmp_path: Path) -> None:
    module = _bad_scores_module()
    for name, data in module._files().items():
        assert (BAD / name).read_bytes() == data, f"{name} differs: rerun make_bad_scores.py"
    assert set(module._files()) == set(BAD_SCORES) == set(MESSAGES)


@pytest.mark.parametrize("name", sorted(BAD_SCORES))
def test_each_bad_score_is_refused_with_its_status(name: str) -> None:
    with pytest.raises(RecordingError) as caught:
        read_score_file(BAD / name, name=f"my {name}")
    err = caught.value
    assert status_of(err)[0] == BAD_SCORES[name]
    assert MESSAGES[name] in err.message and err.message.startswith(f"my {name}: ")
    assert "\n" not in err.message


def test_entity_attacks_are_refused_as_unsafe_before_expansion() -> None:
    # The billion-laughs file would expand to ~3 GB: refused on the declaration, not by running out.
    for name in ("billion_laughs.musicxml", "external_entity.musicxml"):
        with pytest.raises(UnsafeScore):
            read_score_file(BAD / name)
    # An entity declared in the DTD but hidden after a harmless-looking subset is refused the same way.
    sneaky = MINIMAL_XML.replace(
        "<score-partwise>",
        '<!DOCTYPE score-partwise [<!ELEMENT x ANY><!ENTITY e "boom">]><score-partwise>',
        1,
    ).replace(MINIMAL_XML.splitlines()[1] + "\n", "")
    with pytest.raises(UnsafeScore):
        read_score_bytes(sneaky.encode(), "sneaky.musicxml")


def test_zip_bomb_is_refused_while_inflating_and_the_ratio_is_bounded() -> None:
    with pytest.raises(UnsafeScore, match="inflates far beyond"):
        read_score_file(BAD / "zip_bomb.mxl")
    # A header that lies about the size changes nothing: the member is counted as it inflates.
    big = ("<score-partwise>" + " " * (3 * 1024 * 1024) + "</score-partwise>").encode()
    archive = _mxl({"META-INF/container.xml": _container(), "score.musicxml": big})
    assert len(big) > MAX_INFLATE_RATIO * len(archive)
    with pytest.raises(UnsafeScore):
        read_score_bytes(archive, "spaces.mxl")


def test_over_the_limit_is_too_large(tmp_path: Path, shared_dir: Path) -> None:
    score = shared_dir / "data/percepiano/score_midi" / SCORE_MIDI
    with pytest.raises(RecordingTooLarge) as caught:
        read_score_file(score, name="score.mid", max_bytes=100)
    assert status_of(caught.value)[0] == 413 and caught.value.detail == {"limit_bytes": 100}


def test_missing_file_is_a_plain_input_error(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="score not found: nothing.mid"):
        read_score_file(tmp_path / "nothing.mid")


def test_percepiano_score_midi_is_passed_through(shared_dir: Path) -> None:
    path = shared_dir / "data/percepiano/score_midi" / SCORE_MIDI
    score = read_score_file(path)
    assert score == ScoreFile("midi", path.read_bytes(), SCORE_MIDI)
    assert score.suffix == ".mid" and score.is_midi


def test_exported_musicxml_reads_safely_with_every_note(exported_musicxml: Path) -> None:
    import partitura

    score = read_score_file(exported_musicxml)
    assert score.format == "musicxml" and score.suffix == ".musicxml"
    assert b"<!DOCTYPE" not in score.data and b"<!--" not in score.data  # re-serialised from the safe parse
    original = partitura.load_musicxml(str(exported_musicxml)).note_array()
    safe = partitura.load_musicxml(io.BytesIO(score.data)).note_array()
    assert len(safe) == len(original) > 300
    assert (safe["pitch"] == original["pitch"]).all()


def test_mxl_is_sniffed_by_content_not_by_name(exported_musicxml: Path, tmp_path: Path) -> None:
    text = exported_musicxml.read_bytes()
    archive = _mxl(
        {"META-INF/container.xml": _container("music/woo80.musicxml"), "music/woo80.musicxml": text}
    )
    disguised = tmp_path / "looks_like.mid"  # the extension lies: the content decides
    disguised.write_bytes(archive)
    score = read_score_file(disguised)
    assert score.format == "mxl" and score.suffix == ".musicxml"
    assert score.data == read_score_bytes(text, "plain").data


def test_small_musicxml_variants(tmp_path: Path) -> None:
    # the usual public DOCTYPE (never fetched), a comment, UTF-16 with a BOM: all read
    plain = read_score_bytes(MINIMAL_XML.encode(), "minimal.xml")
    assert plain.format == "musicxml" and b"<alter>1</alter>" in plain.data
    utf16 = MINIMAL_XML.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    assert read_score_bytes(utf16, "utf16.musicxml").data == plain.data
    # an .mxl whose container names a member that is not there, or no MusicXML at all
    with pytest.raises(RecordingError, match="no 'gone.musicxml'"):
        read_score_bytes(_mxl({"META-INF/container.xml": _container("gone.musicxml")}), "gone.mxl")
    with pytest.raises(RecordingError, match="not MusicXML"):
        read_score_bytes(
            _mxl({"META-INF/container.xml": _container("score.pdf"), "score.pdf": b"%PDF"}), "pdf.mxl"
        )
    with pytest.raises(NotAScore):
        read_score_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ", "take.wav")


def test_damaged_files_are_refused_as_input_errors(exported_musicxml: Path, shared_dir: Path) -> None:
    """Seeded mutations (bytes changed, files cut) of the three formats: every outcome is a ScoreFile or a
    RecordingError (a 4xx), never another exception (a 500). Found a zlib.error and a LookupError before."""
    import random

    xml = exported_musicxml.read_bytes()
    seeds = [
        xml[:6000],
        (shared_dir / "data/percepiano/score_midi" / SCORE_MIDI).read_bytes(),
        _mxl({"META-INF/container.xml": _container(), "score.musicxml": xml}),
    ]
    rng = random.Random(17)
    refused = 0
    for _ in range(300):
        data = bytearray(rng.choice(seeds))
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data))]
        else:
            for _ in range(rng.randint(1, 20)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            read_score_bytes(bytes(data), "mutated")
        except RecordingError:
            refused += 1
    assert refused > 200
    with pytest.raises(RecordingError, match="unreadable XML"):
        read_score_bytes(b'<?xml version="1.0" encoding="klingon"?><score-partwise/>', "odd.xml")


def _cli_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from api.cli import main

    code = main(argv)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(BAD_SCORES))
def test_cli_score_with_a_bad_score_exits_2_with_one_line(
    name: str, shared_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    performance = shared_dir / "data/percepiano/performance_midi" / PERFORMANCE_MIDI
    code, err = _cli_error(["score", str(performance), "--score", str(BAD / name)], capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cadenza: error: "), err
    assert name in lines[0] and "Traceback" not in err
    assert MESSAGES[name] in lines[0], lines[0]


def test_cli_subprocess_refuses_the_billion_laughs(shared_dir: Path) -> None:
    performance = shared_dir / "data/percepiano/performance_midi" / PERFORMANCE_MIDI
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "score",
            str(performance),
            "--score",
            str(BAD / "billion_laughs.musicxml"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "DTD" in run.stderr
