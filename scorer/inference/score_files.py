"""Score files read safely: MIDI, MusicXML and compressed MusicXML (.mxl), recognised by their content.

``read_score_file(path, name, max_bytes)`` is the one door a score file comes in by (CLI ``--score``, the
REST upload, the job that scores a stored upload). It returns a :class:`ScoreFile`:

- ``format``: ``"midi"`` (first bytes ``MThd``), ``"musicxml"`` (XML whose root is ``<score-partwise>``) or
  ``"mxl"`` (a zip whose ``META-INF/container.xml`` names the MusicXML root file);
- ``data``: the MIDI bytes as sent, or, for both XML formats, the MusicXML re-serialised as UTF-8 from the
  safe parse below: no DOCTYPE, no comments or processing instructions. A score loader (partitura:
  ``load_musicxml(io.BytesIO(data))`` or ``load_score_midi``) reads ``data``, never the file itself again;
- ``suffix``: the extension a temporary file of ``data`` needs (``.mid`` or ``.musicxml``).

The file name or extension is never trusted: a ``.mid`` holding MusicXML is read as MusicXML. Refusals
are one-line :class:`~scorer.errors.RecordingError` subclasses (the API maps them in ``api/errors.py``):

- ``NotAScore`` (HTTP 415): none of the three formats (a WAV, a PDF, XML that is not a score);
- ``RecordingTooLarge`` (413): the file is over ``max_bytes``;
- ``UnsafeScore`` (400): XML with a DTD internal subset (entity declarations: "billion laughs", external
  entities) or an external entity reference, refused during parsing before any entity is expanded; an
  .mxl whose members inflate past ``MAX_INFLATED_BYTES`` or ``MAX_INFLATE_RATIO`` times the archive
  (read as a stream, never trusting the sizes the zip headers claim);
- ``RecordingError`` (400): empty, unreadable (corrupt MIDI, malformed XML, broken zip), no notes, or
  ``<score-timewise>`` MusicXML (partitura reads partwise only; export as partwise).

Why expat directly: it is the standard library's parser, it reports DTD and entity declarations to
handlers before expanding anything, and it never fetches external DTDs (``defusedxml`` does the same
thing; this avoids a dependency for ~20 lines).
"""

from __future__ import annotations

import io
import warnings
import xml.etree.ElementTree as ET
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal
from xml.parsers import expat

from scorer.errors import NotAScore, RecordingError, RecordingTooLarge, UnsafeScore

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_INFLATED_BYTES",
    "MAX_INFLATE_RATIO",
    "SCORE_SUFFIXES",
    "ScoreFile",
    "read_score_file",
    "read_score_bytes",
]

ScoreFormat = Literal["midi", "musicxml", "mxl"]

# The REST upload passes its own limit (settings.score_upload_max_bytes); this is the default elsewhere.
DEFAULT_MAX_BYTES = 4 * 1024 * 1024
# A MusicXML file compresses ~10-30x; 100x with a 1 MiB floor leaves room for very repetitive scores, and
# the absolute cap bounds memory whatever the archive claims.
MAX_INFLATE_RATIO = 100
INFLATE_FLOOR_BYTES = 1024 * 1024
MAX_INFLATED_BYTES = 32 * 1024 * 1024
# What the page's file picker and the docs offer; content decides, this is only a hint for clients.
SCORE_SUFFIXES = (".mid", ".midi", ".musicxml", ".xml", ".mxl")

_SCORE_ROOTS = ("score-partwise", "score-timewise")
_ZIP_MAGIC = b"PK\x03\x04"
_CHUNK = 64 * 1024
# What a damaged archive raises from zipfile and zlib (a corrupt deflate stream, a bad offset, a version or
# compression method zipfile does not know, an encrypted member).
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    EOFError,
    OSError,
    RuntimeError,
    ValueError,
)


@dataclass(frozen=True)
class ScoreFile:
    """A score file that passed the checks: its format as sent and the bytes a loader reads."""

    format: ScoreFormat
    data: bytes  # MIDI bytes, or safe MusicXML (UTF-8, no DOCTYPE) for "musicxml" and "mxl"
    name: str  # how messages call the file

    @property
    def is_midi(self) -> bool:
        return self.format == "midi"

    @property
    def suffix(self) -> str:
        """Extension of a file holding ``data`` (an .mxl's data is plain MusicXML)."""
        return ".mid" if self.is_midi else ".musicxml"


def read_score_file(path: Path, name: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> ScoreFile:
    """Read and check a score file; ``name`` is what messages call it (default: its file name)."""
    path = Path(path)
    name = name or path.name
    if not path.is_file():
        raise RecordingError(f"score not found: {name}")
    size = path.stat().st_size
    if size > max_bytes:
        raise RecordingTooLarge(
            f"{name}: the score is larger than the limit of {max_bytes} bytes",
            detail={"limit_bytes": max_bytes},
        )
    with path.open("rb") as fh:
        data = fh.read(max_bytes + 1)  # the file may grow between stat and read
    return read_score_bytes(data, name, max_bytes)


def read_score_bytes(data: bytes, name: str, max_bytes: int = DEFAULT_MAX_BYTES) -> ScoreFile:
    """The same checks on bytes already in memory."""
    if len(data) > max_bytes:
        raise RecordingTooLarge(
            f"{name}: the score is larger than the limit of {max_bytes} bytes",
            detail={"limit_bytes": max_bytes},
        )
    if not data.strip():
        raise RecordingError(f"{name}: the score file is empty")
    if data[:4] == b"MThd":
        _check_midi(data, name)
        return ScoreFile("midi", data, name)
    if data[:4] == _ZIP_MAGIC:
        return ScoreFile("mxl", _read_mxl(data, name), name)
    if _looks_like_xml(data):
        return ScoreFile("musicxml", _safe_musicxml(data, name), name)
    raise NotAScore(f"{name}: not a score file (send MIDI, MusicXML or compressed MusicXML .mxl)")


# --- MIDI -------------------------------------------------------------------------------------------


def _check_midi(data: bytes, name: str) -> None:
    import pretty_midi

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            midi = pretty_midi.PrettyMIDI(io.BytesIO(data))
    except Exception as err:  # mido/pretty_midi raise many types for corrupt files
        raise RecordingError(f"{name}: unreadable score MIDI ({type(err).__name__})") from err
    if not any(inst.notes for inst in midi.instruments if not inst.is_drum):
        raise RecordingError(f"{name}: the score MIDI has no notes")


# --- MusicXML -----------------------------------------------------------------------------------------


def _looks_like_xml(data: bytes) -> bool:
    head = data[:512]
    if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):  # BOMs (UTF-8, UTF-16)
        return True
    return head.lstrip().startswith(b"<")


class _Refused(Exception):
    """Raised inside an expat handler to stop the parse at once."""

    def __init__(self, error: RecordingError) -> None:
        super().__init__(error.message)
        self.error = error


def _parse_xml_safely(data: bytes, name: str) -> ET.Element:
    """Parse with expat, refusing any internal DTD subset, entity declaration or external entity before it
    is expanded; builds an ElementTree from the events (elements, attributes, text only)."""
    parser = expat.ParserCreate()
    # Never read an external DTD or parameter entities, even if a future expat defaulted otherwise.
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    builder = ET.TreeBuilder()

    def unsafe(what: str) -> None:
        raise _Refused(
            UnsafeScore(f"{name}: XML with {what} is refused (entity expansion / external entities)")
        )

    def on_doctype(_name: str, _sysid: str | None, _pubid: str | None, has_internal_subset: int) -> None:
        # The usual MusicXML DOCTYPE only names the public DTD (never fetched); an internal subset is
        # where entities are declared, and a score never needs one.
        if has_internal_subset:
            unsafe("an internal DTD subset")

    parser.StartDoctypeDeclHandler = on_doctype
    parser.EntityDeclHandler = lambda *_args: unsafe("entity declarations")
    parser.UnparsedEntityDeclHandler = lambda *_args: unsafe("entity declarations")
    parser.ExternalEntityRefHandler = lambda *_args: unsafe("an external entity")  # type: ignore[assignment]
    parser.StartElementHandler = lambda tag, attrs: builder.start(tag, attrs)
    parser.EndElementHandler = lambda tag: builder.end(tag)
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except _Refused as refused:
        raise refused.error from None
    except expat.ExpatError as err:
        raise RecordingError(
            f"{name}: unreadable XML ({expat.ErrorString(err.code)}, line {err.lineno})"
        ) from err
    except (
        ValueError,
        LookupError,
    ) as err:  # e.g. an encoding expat does not know (UnicodeError is a ValueError)
        raise RecordingError(f"{name}: unreadable XML ({type(err).__name__})") from err
    return builder.close()


def _safe_musicxml(data: bytes, name: str) -> bytes:
    root = _parse_xml_safely(data, name)
    if root.tag not in _SCORE_ROOTS:
        raise NotAScore(f"{name}: XML but not a MusicXML score (root <{root.tag[:40]}>)")
    if root.tag == "score-timewise":
        raise RecordingError(
            f"{name}: timewise MusicXML is not supported; export the score as partwise MusicXML"
        )
    if not any(note.find("pitch") is not None for note in root.iter("note")):
        raise RecordingError(f"{name}: the score has no notes")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# --- compressed MusicXML (.mxl) -------------------------------------------------------------------------


def _read_member(archive: zipfile.ZipFile, member: str, budget: int, name: str) -> bytes:
    """One member inflated as a stream, refused as soon as it passes ``budget`` bytes (the sizes in the zip
    headers are the sender's claim, not a bound)."""
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise RecordingError(f"{name}: the .mxl archive has no {member[:80]!r}") from None
    out = bytearray()
    try:
        with archive.open(info) as fh:
            while chunk := fh.read(_CHUNK):
                out += chunk
                if len(out) > budget:
                    raise UnsafeScore(f"{name}: the .mxl archive inflates far beyond its size; refused")
    except _ZIP_ERRORS as err:
        raise RecordingError(f"{name}: unreadable .mxl archive ({type(err).__name__})") from err
    return bytes(out)


def _rootfile(container: bytes, name: str) -> str:
    root = _parse_xml_safely(container, f"{name} (META-INF/container.xml)")
    for rootfile in root.iter("rootfile"):
        media = rootfile.get("media-type", "application/vnd.recordare.musicxml+xml")
        path = rootfile.get("full-path")
        if path and "musicxml" in media:
            return path
    raise RecordingError(f"{name}: the .mxl archive names no MusicXML root file")


def _read_mxl(data: bytes, name: str) -> bytes:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS as err:
        raise RecordingError(f"{name}: unreadable .mxl archive ({type(err).__name__})") from err
    with archive:
        names = set(archive.namelist())
        budget = min(MAX_INFLATED_BYTES, max(INFLATE_FLOOR_BYTES, MAX_INFLATE_RATIO * len(data)))
        if "META-INF/container.xml" in names:
            container = _read_member(archive, "META-INF/container.xml", min(budget, 256 * 1024), name)
            member = _rootfile(container, name)
        else:
            # The spec requires the container; a zip without it is some other archive.
            raise NotAScore(f"{name}: a zip archive but not compressed MusicXML (no META-INF/container.xml)")
        if PurePosixPath(member).suffix.lower() not in (".xml", ".musicxml"):
            raise RecordingError(f"{name}: the .mxl root file {member[:80]!r} is not MusicXML")
        xml = _read_member(archive, member, budget, name)
    return _safe_musicxml(xml, name)
