"""Note names spelled for the key (scorer/pitch_names.py): diatonic notes take the key's letters, chromatic
ones the spelling common harmony gives them; a MIDI key name's mode is checked against the notes."""

from __future__ import annotations

import numpy as np
import pytest

from scorer.pitch_names import key_of_name, mode_from_notes, pitch_name

MAJOR, MINOR = False, True


@pytest.mark.parametrize(
    ("pitch", "key", "name"),
    [
        (60, (0, MAJOR), "C4"),
        (66, (0, MAJOR), "F#4"),  # V of V
        (70, (0, MAJOR), "Bb4"),  # V of IV, not A#
        (70, (-2, MAJOR), "Bb4"),  # the tonic of B-flat major, not A#4
        (63, (-2, MAJOR), "Eb4"),
        (71, (-2, MAJOR), "B4"),  # the raised tonic takes the tonic's letter
        (66, (-5, MAJOR), "Gb4"),
        (59, (-6, MAJOR), "Cb4"),  # the octave follows the letter: Cb4 sounds as B3
        (60, (7, MAJOR), "B#3"),
        (65, (6, MAJOR), "E#4"),
        (70, (5, MAJOR), "A#4"),
        (71, (-3, MINOR), "B4"),  # C minor: the leading tone
        (66, (-3, MINOR), "F#4"),  # C minor: the raised fourth (vii of V)
        (61, (-3, MINOR), "Db4"),  # C minor: the Neapolitan
        (68, (0, MINOR), "G#4"),  # A minor: the leading tone
        (21, (0, MAJOR), "A0"),
        (108, (0, MAJOR), "C8"),
    ],
)
def test_pitch_names_follow_the_key(pitch: int, key: tuple[int, bool], name: str) -> None:
    assert pitch_name(pitch, key) == name


def test_key_names_as_midi_files_write_them() -> None:
    assert key_of_name("Bb") == (-2, MAJOR) and key_of_name("Gm") == (-2, MINOR)
    assert key_of_name("C#m") == (4, MINOR) and key_of_name("Cb") == (-7, MAJOR)
    assert key_of_name("H") is None and key_of_name("Cbm") is None  # no such key within seven fifths


def test_the_notes_tell_c_minor_from_e_flat_major() -> None:
    # a C minor scale with its leading tone and a cadence, and an E-flat major scale and cadence
    c_minor = np.array([60, 62, 63, 65, 67, 68, 71, 72, 67, 71, 74, 60, 63, 67, 60, 72])
    e_flat = np.array([63, 65, 67, 68, 70, 72, 74, 75, 70, 74, 77, 63, 67, 70, 63, 75])
    ones = np.ones(16)
    assert mode_from_notes(-3, c_minor, ones) is True
    assert mode_from_notes(-3, e_flat, ones) is False
    assert mode_from_notes(-3, c_minor[:5], ones[:5]) is False  # too few notes to tell: major


def test_sharp_minor_keys_as_midi_files_name_them() -> None:
    assert key_of_name("G#m") == (5, MINOR) and key_of_name("D#m") == (6, MINOR)
    assert key_of_name("A#m") == (7, MINOR) and key_of_name("Abm") == (-7, MINOR)


@pytest.mark.parametrize(
    ("pitch", "key", "name"),
    [
        (65, (3, MAJOR), "F4"),  # F natural in A major: not "E#4"
        (60, (4, MAJOR), "C4"),  # C natural in E major: not "B#3"
        (67, (5, MAJOR), "G4"),  # G natural in B major: not "F##4"
        (67, (4, MINOR), "G4"),  # G natural in C-sharp minor: not "F##4"
        (65, (6, MAJOR), "E#4"),  # but F-sharp major's own E#
        (71, (-6, MAJOR), "Cb5"),  # and G-flat major's own Cb
        (68, (20, MAJOR), "G#4"),  # no such signature: spelled as C major, accidental kept
    ],
)
def test_notes_outside_the_key_are_never_spelled_awkwardly(
    pitch: int, key: tuple[int, bool], name: str
) -> None:
    assert pitch_name(pitch, key) == name


def test_a_forgotten_sharp_or_flat_reads_as_the_plain_note() -> None:
    assert pitch_name(65, (3, MAJOR)) == "F4"  # F# written in A major, F played
    assert pitch_name(71, (-2, MAJOR)) == "B4"  # Bb written in B-flat major, B played
    assert pitch_name(70, (-3, MINOR)) == "Bb4"  # C minor: A natural written, B-flat played is the key's own
    assert pitch_name(60, (2, MAJOR)) == "C4"  # C# written in D major, C played


def test_mode_needs_enough_unequal_notes() -> None:
    chromatic = np.arange(60, 84)
    assert mode_from_notes(0, chromatic, np.ones(24)) is False  # flat histogram: no warning, major
