"""Note names spelled for the key: in B♭ major the note between A and B is "Bb4", not "A#4".

A key is its signature's count of fifths (−7 … 7: flats negative, as MusicXML and MIDI write it) and its
mode. Diatonic notes take the key's letters. A chromatic note takes the spelling common harmony gives it: in
a major key the raised tonic, fourth and fifth and the lowered third and seventh (secondary dominants, mode
mixture: C#, F#, G#, Eb, Bb in C major); in a minor key the lowered second (Neapolitan) and the raised third,
fourth, sixth and seventh (leading tone: B, F#, A, E in C minor). A chromatic note that would read as E#, B#,
Fb, Cb or a double accidental is named plainly: F natural in A major, the sharp forgotten, is "F4", not
"E#4"."""

from __future__ import annotations

import numpy as np

LETTERS = "CDEFGAB"
NATURAL_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
MINOR_STEPS = (0, 2, 3, 5, 7, 8, 10)
# chromatic pitch (semitones above the tonic) -> the scale degree whose letter it takes
MAJOR_CHROMATIC = {1: 0, 3: 2, 6: 3, 8: 4, 10: 6}
MINOR_CHROMATIC = {1: 1, 4: 2, 6: 3, 9: 5, 11: 6}
ACCIDENTALS = {-2: "bb", -1: "b", 0: "", 1: "#", 2: "##"}
# key names as MIDI files write them (mido): major "Bb", minor "Gm"
MAJOR_FIFTHS = {
    "Cb": -7, "Gb": -6, "Db": -5, "Ab": -4, "Eb": -3, "Bb": -2, "F": -1, "C": 0,
    "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F#": 6, "C#": 7,
}  # fmt: skip
MINOR_FIFTHS = {
    "Ab": -7, "Eb": -6, "Bb": -5, "F": -4, "C": -3, "G": -2, "D": -1, "A": 0,
    "E": 1, "B": 2, "F#": 3, "C#": 4, "G#": 5, "D#": 6, "A#": 7,
}  # fmt: skip
# spellings a student reads badly for a note the key does not hold: the plain enharmonic is named instead
AWKWARD = ("E#", "B#", "Fb", "Cb")
SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
MIN_NOTES_FOR_MODE = 16

Key = tuple[int, bool]  # (fifths, minor)
C_MAJOR: Key = (0, False)
# Krumhansl-Kessler key profiles (tonic first): how strongly each pitch class belongs to a major / minor key
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def key_of_name(name: str) -> Key | None:
    """'Bb' -> (−2, False), 'Gm' -> (−2, True), 'C#m' -> (4, True); None for a name that is no key."""
    minor = name.endswith("m")
    fifths = MINOR_FIFTHS.get(name[:-1]) if minor else MAJOR_FIFTHS.get(name)
    return None if fifths is None else (fifths, minor)


def mode_from_notes(fifths: int, pitches: np.ndarray, durations: np.ndarray) -> bool:
    """Whether notes written under this key signature are in its minor key rather than its major one (a
    MIDI file writes the signature of C minor as "Eb" as often as "Cm"): the duration-weighted pitch-class
    histogram correlated with both key profiles (Krumhansl-Schmuckler, between the two keys the signature
    allows). Too few notes: major."""
    if pitches.size < MIN_NOTES_FOR_MODE:
        return False
    pcs = np.asarray(pitches).astype(np.int64) % 12
    histogram = np.bincount(pcs, weights=np.maximum(durations, 1e-3), minlength=12)
    if np.ptp(histogram) <= 0:  # every pitch class alike: nothing to tell the keys apart
        return False
    major_tonic = (7 * fifths) % 12
    minor_tonic = (major_tonic + 9) % 12
    major = np.corrcoef(histogram, np.roll(MAJOR_PROFILE, major_tonic))[0, 1]
    minor = np.corrcoef(histogram, np.roll(MINOR_PROFILE, minor_tonic))[0, 1]
    return bool(minor > major)


def pitch_name(pitch: int, key: Key = C_MAJOR) -> str:
    """MIDI pitch -> name with octave in ``key`` (60 -> "C4"; 66 -> "F#4" in C major, "Gb4" in D♭ major;
    70 -> "Bb4" in C major, "A#4" in B major). The octave follows the letter (B#3 sounds as C4)."""
    fifths, minor = key
    if not -7 <= fifths <= 7:  # no such signature: spell as C major
        fifths, minor = C_MAJOR
    letter_of_major_tonic = (4 * fifths) % 7  # a fifth up is four letters up
    # a minor key's tonic is the sixth degree of the major key with its signature
    tonic_letter = (letter_of_major_tonic + 5) % 7 if minor else letter_of_major_tonic
    tonic_pc = (7 * fifths + (9 if minor else 0)) % 12
    steps, chromatic = (MINOR_STEPS, MINOR_CHROMATIC) if minor else (MAJOR_STEPS, MAJOR_CHROMATIC)
    rel = (pitch - tonic_pc) % 12
    if rel in steps:  # the key's own note: its letter, whatever it looks like (E# in F-sharp major)
        return _spelled(pitch, LETTERS[(tonic_letter + steps.index(rel)) % 7])
    name = _spelled(pitch, LETTERS[(tonic_letter + chromatic[rel]) % 7])
    if name[:2] in AWKWARD or "##" in name or "bb" in name:
        return _plain(pitch, flats=fifths < 0)
    return name


def _spelled(pitch: int, letter: str) -> str:
    """``pitch`` written on ``letter`` (the accidental within ±2 semitones), with its octave."""
    off = (pitch - NATURAL_PC[letter]) % 12
    off = off - 12 if off > 6 else off
    octave = (pitch - off) // 12 - 1
    return f"{letter}{ACCIDENTALS.get(off, '?')}{octave}"


def _plain(pitch: int, *, flats: bool) -> str:
    """The natural, or one sharp / one flat (by the key's side): C# or Db, never E#, B#, Cb or Fb."""
    return f"{(FLAT_NAMES if flats else SHARP_NAMES)[pitch % 12]}{pitch // 12 - 1}"
