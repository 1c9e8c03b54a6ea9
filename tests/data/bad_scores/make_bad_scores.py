"""Writes the bad score files in this folder (committed; rerun to regenerate them byte for byte):

    .venv/bin/python tests/data/bad_scores/make_bad_scores.py

Each file is one way a score upload can be bad; tests/scorer/test_score_files.py and
tests/api/test_score_files_api.py expect the status named in EXPECTED (415 not a score, 400 unreadable,
empty, no notes or unsafe). The over-the-limit case (413) is made in the tests with a small limit.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
_PARTS = (
    '<part-list><score-part id="P1"><part-name>Piano</part-name></score-part></part-list>\n'
    '<part id="P1"><measure number="1"><attributes><divisions>1</divisions><time><beats>4</beats>'
    "<beat-type>4</beat-type></time></attributes>{notes}</measure></part>\n"
)
_NOTE = "<note><pitch><step>C</step><octave>4</octave></pitch><duration>4</duration></note>"
_REST = "<note><rest/><duration>4</duration></note>"

# Ten levels of ten: 10^9 "lol"s (~3 GB) if an XML parser expanded the entities.
_LAUGHS = "".join(f'  <!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i else "lol"}">\n' for i in range(10))

EXPECTED: dict[str, int] = {
    "billion_laughs.musicxml": 400,
    "external_entity.musicxml": 400,
    "no_notes.musicxml": 400,
    "timewise.musicxml": 400,
    "malformed.musicxml": 400,
    "empty.musicxml": 400,
    "truncated.mid": 400,
    "no_notes.mid": 400,
    "zip_bomb.mxl": 400,
    "not_a_score.xml": 415,
    "not_a_score.pdf": 415,
    "plain_zip.mxl": 415,
}


def _files() -> dict[str, bytes]:
    score = _PARTS.format(notes=_NOTE)
    files = {
        "billion_laughs.musicxml": (
            f"{_HEAD}<!DOCTYPE score-partwise [\n{_LAUGHS}]>\n"
            f"<score-partwise><work><work-title>&lol9;</work-title></work>{score}</score-partwise>\n"
        ),
        "external_entity.musicxml": (
            f'{_HEAD}<!DOCTYPE score-partwise [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
            f"<score-partwise><work><work-title>&secret;</work-title></work>{score}</score-partwise>\n"
        ),
        "no_notes.musicxml": f"{_HEAD}<score-partwise>{_PARTS.format(notes=_REST)}</score-partwise>\n",
        "timewise.musicxml": f'{_HEAD}<score-timewise><measure number="1"/></score-timewise>\n',
        "malformed.musicxml": f"{_HEAD}<score-partwise>{score[:200]}",
        "empty.musicxml": "",
        "not_a_score.xml": f'{_HEAD}<html xmlns="http://www.w3.org/1999/xhtml"><body>hi</body></html>\n',
    }
    out = {name: text.encode() for name, text in files.items()}
    out["not_a_score.pdf"] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
    # A MIDI header announcing a track that is not there.
    out["truncated.mid"] = b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x10\x00\x00\xff"
    # A valid type-0 MIDI with a tempo and nothing else.
    tempo_only = b"\x00\xff\x51\x03\x07\xa1\x20\x00\xff\x2f\x00"
    out["no_notes.mid"] = (
        b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk" + len(tempo_only).to_bytes(4, "big") + tempo_only
    )
    out["zip_bomb.mxl"] = _zip(
        {
            "META-INF/container.xml": (
                b'<?xml version="1.0"?><container><rootfiles><rootfile full-path="score.musicxml" '
                b'media-type="application/vnd.recordare.musicxml+xml"/></rootfiles></container>'
            ),
            # 16 MiB of spaces inside a valid score: ~16 KB compressed (ratio ~1000).
            "score.musicxml": f"{_HEAD}<score-partwise>".encode()
            + b" " * (16 * 1024 * 1024)
            + f"{score}</score-partwise>".encode(),
        }
    )
    out["plain_zip.mxl"] = _zip({"notes.txt": b"not a score\n"})
    return out


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for member, data in members.items():
            info = zipfile.ZipInfo(member, date_time=(2026, 12, 7, 0, 0, 0))  # fixed: same bytes every run
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=9)
    return buf.getvalue()


def main() -> None:
    for name, data in _files().items():
        (HERE / name).write_bytes(data)


if __name__ == "__main__":
    main()
