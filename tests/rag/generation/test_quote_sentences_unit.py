"""What feedback quotes of a passage around the sentence the retriever found closest to the problem: its
sentence units also end at ';' and ':', so the closest one may be half a sentence ("_i.e._, subdue the
accompaniment …", "Listen, so that you may not waste energy …;"). The quote is the whole sentence when it is
short enough, else the clause marked with "…" where the sentence goes on, and never a heading before a colon."""

from __future__ import annotations

from rag.generation.fallback import QUOTE_WORDS, quote_of, whole_sentence

GEHRKENS = (
    "The second example shows the same figure in the left hand. _Marcato il canto_--the melody well marked; "
    "_i.e._, subdue the accompaniment so that the melody may stand out strongly. Then the right hand."
)
MATTHAY = (
    "Listen, so that you may not waste energy after it is too late (in key descent) to make sound; and listen "
    "so that you may know exactly when to cease the effort, for the sound begins at the moment the hammer "
    "leaves the string."
)


def test_half_a_sentence_becomes_the_whole_sentence() -> None:
    quote = whole_sentence(
        GEHRKENS, "_i.e._, subdue the accompaniment so that the melody may stand out strongly."
    )
    assert quote == (
        "_Marcato il canto_--the melody well marked; _i.e._, subdue the accompaniment so that the melody may "
        "stand out strongly."
    )


def test_a_clause_of_a_long_sentence_says_that_the_sentence_goes_on() -> None:
    clause = "Listen, so that you may not waste energy after it is too late (in key descent) to make sound;"
    assert len(MATTHAY.split()) > QUOTE_WORDS
    assert whole_sentence(MATTHAY, clause) == clause.rstrip(";") + " …"
    later = "and listen so that you may know exactly when to cease the effort,"
    assert whole_sentence(MATTHAY, later).startswith("… and listen") and whole_sentence(
        MATTHAY, later
    ).endswith("effort …")


def test_a_heading_before_a_colon_is_not_quoted() -> None:
    passage = "_Never Play with a Metronome_: You may use a metronome for a little passage as a test. More."
    assert whole_sentence(passage, "You may use a metronome for a little passage as a test.") == (
        "You may use a metronome for a little passage as a test."
    )


def test_a_whole_sentence_and_list_items_stay_as_they_are() -> None:
    assert whole_sentence("Hello there. Play it slowly, listening. Bye.", "Play it slowly, listening.") == (
        "Play it slowly, listening."
    )
    items = "(a) Beauty of tone through gradual key-speed.\n(b) Accuracy through the key's resistance."
    assert whole_sentence(items, "Beauty of tone through gradual key-speed.") == (
        "(a) Beauty of tone through gradual key-speed."
    )


def test_a_sentence_not_in_the_passage_is_quoted_as_given_and_none_quotes_the_passage() -> None:
    assert whole_sentence("Something else entirely.", "Play slowly.") == "Play slowly."
    assert quote_of('He said "play slowly" twice.', None) == "He said 'play slowly' twice."
