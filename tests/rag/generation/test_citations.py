"""Citation check: parsing, invalid markers, renumbering, provenance — on real corpus passages."""

from __future__ import annotations

import pytest

from rag.generation.citations import (
    check_citations,
    parse_markers,
    split_sentences,
    strip_echoed_sources,
    strip_markers,
)
from tests._feedback_support import standard_hits


@pytest.fixture(scope="module")
def hits(shared_dir):
    return standard_hits(shared_dir)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Use less pedal [1].", [(1,)]),
        ("Count aloud [1, 3] and [2,4].", [(1, 3), (2, 4)]),
        ("See [2-4] and [1–2].", [(2, 3, 4), (1, 2)]),
        ("Mixed [1, 3-5; 2].", [(1, 3, 4, 5, 2)]),
        ("The model wrote [Source 2] and [sources 1, 3].", [(2,), (1, 3)]),
        ("Not markers: [a], [], [1.5], (1), array[i].", []),
        ("Absurd range [1-1000].", [()]),
        ("Backwards [4-2].", [()]),
    ],
)
def test_parse_markers(text, expected):
    assert [m.numbers for m in parse_markers(text)] == expected


def test_invalid_markers_are_removed_and_reported(hits):
    text = (
        "Lift the pedal at each harmony change [1]. Practise with a metronome [7]. Listen [0] closely [9, 2]."
    )
    checked = check_citations(text, hits)
    assert checked.invalid_markers == ["[7]", "[0]", "[9]"]
    assert "[7]" not in checked.text and "[0]" not in checked.text and "[9" not in checked.text
    assert "metronome." in checked.text  # marker removed without leaving " ." behind
    assert checked.raw_references == 5 and checked.raw_valid_references == 2
    assert checked.raw_validity == pytest.approx(0.4)
    assert [c.chunk_id for c in checked.citations] == [hits[0].chunk_id, hits[1].chunk_id]


def test_renumbered_in_order_of_first_use(hits):
    text = "Touch first [3]. Then pedal [1] and again touch [3]. Finally [5, 3] and [4-5]."
    checked = check_citations(text, hits)
    # old 3 -> 1, old 1 -> 2, old 5 -> 3, old 4 -> 4
    assert checked.text == "Touch first [1]. Then pedal [2] and again touch [1]. Finally [1, 3] and [3, 4]."
    assert [c.n for c in checked.citations] == [1, 2, 3, 4]
    assert [c.chunk_id for c in checked.citations] == [hits[i].chunk_id for i in (2, 0, 4, 3)]
    assert checked.cited_sources == [hits[i] for i in (2, 0, 4, 3)]


def test_citation_carries_provenance(hits):
    checked = check_citations("Beware of long pedals [1].", hits)
    (c,) = checked.citations
    hit = hits[0]
    assert (c.title, c.author, c.year, c.url) == (
        hit.source.title,
        "Josef Hofmann",
        hit.source.year,
        hit.source.url,
    )
    assert (c.char_start, c.char_end) == (hit.char_start, hit.char_end) and c.char_end > c.char_start
    assert c.supported is None  # grounding is a separate step


def test_only_uncited_or_invalid_text_has_no_citations(hits):
    assert check_citations("Play more musically.", hits).citations == []
    checked = check_citations("Play more musically [6].", hits)
    assert checked.citations == [] and checked.invalid_markers == ["[6]"]
    assert checked.raw_validity == 0.0
    assert check_citations("No markers at all", []).raw_validity is None


def test_cited_sentences_keep_markers_written_after_the_stop(hits):
    text = "Pedal less in bars 5-7. [1] Use the metronome only as a test.[2]\n- Keep the weight light [3]"
    checked = check_citations(text, hits)
    assert [numbers for _, numbers in checked.cited_sentences] == [(1,), (2,), (3,)]
    assert split_sentences("A. [1] B.")[0] == "A. [1]"
    assert strip_markers("Lift the pedal [1, 2].") == "Lift the pedal."


def test_echoed_source_list_is_not_a_citation(hits):
    # What Qwen2.5-0.5B wrote in `rag-eval feedback` (profile p00): it copied the prompt's source headers.
    raw = (
        f"One strength is your tone. Remember the accompaniment.\n[1] {hits[0].source.title} — Josef Hofmann\n"
        f"[source]\nsome copied passage text\n[2] {hits[1].source.title} — Josef Hofmann\n</source>"
    )
    cleaned = strip_echoed_sources(raw, hits)
    assert "[1]" not in cleaned and "[2]" not in cleaned and "[source]" not in cleaned
    assert check_citations(cleaned, hits).citations == []
    kept = "Lift the pedal at each change [1].\n[2] Keep time with a metronome only as a test."
    assert strip_echoed_sources(kept, hits) == kept  # real citations and advice lines stay


def test_abbreviations_and_initials_do_not_end_sentences():
    text = (
        "Practise with this advice from Oscar Bie (tr. E. E. Kellett), 'play it lightly' [1]. "
        "Hear op. 37, No. 2 by J. S. Bach. then rest [2].\nNext line."
    )
    assert split_sentences(text) == [
        "Practise with this advice from Oscar Bie (tr. E. E. Kellett), 'play it lightly' [1].",
        "Hear op. 37, No. 2 by J. S. Bach. then rest [2].",
        "Next line.",
    ]
