"""Citation checking on hits built in the test: renumbering in order of first use, invalid markers
dropped and counted, echoed source headers removed, sentence splitting around abbreviations."""

from __future__ import annotations

import pytest

from rag.generation.citations import check_citations, split_sentences, strip_echoed_sources, strip_markers
from rag.retrieval.types import SearchHit, SourceRef


def hit(n: int, title: str) -> SearchHit:
    return SearchHit(
        rank=n,
        score=1.0 / n,
        chunk_id=f"c{n}",
        text=f"passage {n}",
        section=f"Chapter {n}",
        char_start=100 * n,
        char_end=100 * n + 80,
        source=SourceRef(document_id=f"d{n}", title=title, author=f"Author {n}", year="1900"),
    )


SOURCES = [
    hit(1, "Piano Playing with Piano Questions Answered"),
    hit(2, "Advice to Young Musicians"),
    hit(3, "The Act of Touch"),
]


def test_cited_sources_are_renumbered_in_order_of_first_use() -> None:
    checked = check_citations("Use less pedal [3]. Count aloud [1]. Again the pedal [3].", SOURCES)
    assert checked.text == "Use less pedal [1]. Count aloud [2]. Again the pedal [1]."
    assert [c.n for c in checked.citations] == [1, 2]
    assert [c.chunk_id for c in checked.citations] == ["c3", "c1"]
    assert checked.citations[0].title == "The Act of Touch" and checked.citations[0].char_start == 300
    assert [h.chunk_id for h in checked.cited_sources] == ["c3", "c1"]
    assert checked.invalid_markers == [] and checked.raw_validity == 1.0


def test_invalid_numbers_are_dropped_and_counted() -> None:
    checked = check_citations("Listen closely [7]. Play slowly [2, 9].", SOURCES)
    assert checked.text == "Listen closely. Play slowly [1]."
    assert checked.invalid_markers == ["[7]", "[9]"]
    assert (checked.raw_references, checked.raw_valid_references) == (3, 1)
    assert checked.raw_validity == pytest.approx(1 / 3)


def test_absurd_ranges_are_invalid_as_a_whole() -> None:
    checked = check_citations("Everything applies [1-1000].", SOURCES)
    assert checked.text == "Everything applies."
    assert checked.invalid_markers == ["[1-1000]"] and checked.citations == []


def test_ranges_and_lists_resolve_and_merge() -> None:
    checked = check_citations("Relax the wrist [2-3] and the arm [Source 1].", SOURCES)
    assert checked.text == "Relax the wrist [1, 2] and the arm [3]."
    assert [c.chunk_id for c in checked.citations] == ["c2", "c3", "c1"]
    assert checked.cited_sentences == [("Relax the wrist [1, 2] and the arm [3].", (1, 2, 3))]


def test_text_without_markers_has_no_validity() -> None:
    checked = check_citations("Practise every day.", SOURCES)
    assert checked.text == "Practise every day."
    assert checked.raw_validity is None and checked.cited_sentences == []


def test_echoed_source_headers_are_not_citations() -> None:
    text = (
        "<sources>\n[1] Piano Playing with Piano Questions Answered — Author 1\n[2] Advice to Young Musicians\n"
        "Play scales daily [2].\n</sources>"
    )
    assert strip_echoed_sources(text, SOURCES) == "Play scales daily [2]."
    # a header of a source the prompt did not give is not an echo
    assert strip_echoed_sources("[5] Advice to Young Musicians", SOURCES) == "[5] Advice to Young Musicians"
    # a line that starts with a marker but is advice, not a copied title, stays
    assert strip_echoed_sources("[1] Slow practice pays.", SOURCES) == "[1] Slow practice pays."


def test_sentences_split_at_stops_but_not_after_abbreviations() -> None:
    assert split_sentences("Play op. 27 no. 2 softly [1]. Then rest.") == [
        "Play op. 27 no. 2 softly [1].",
        "Then rest.",
    ]
    assert split_sentences("As J. S. Bach wrote, practise. [2] Next.") == [
        "As J. S. Bach wrote, practise. [2]",
        "Next.",
    ]
    assert split_sentences("- first item\n- second item") == ["- first item", "- second item"]
    assert split_sentences("Play bars 5–7 at approx. 60 to the minute. Then faster.") == [
        "Play bars 5–7 at approx. 60 to the minute.",
        "Then faster.",
    ]


def test_strip_markers_leaves_clean_prose() -> None:
    assert strip_markers("Use less pedal [1, 2] , and listen [3].") == "Use less pedal, and listen."
