"""Post-processing of per-dimension answers (rag/generation/attribution.py): cut fragments, dropped prompt echoes,
markers attached to the one given source — and the model's own markers left alone."""

from __future__ import annotations

from rag.generation.attribution import attribute, complete_sentences, drop_debris, drop_echoes
from rag.retrieval.types import SearchHit, SourceRef

_HIT = SearchHit(
    rank=1,
    score=1.0,
    chunk_id="c1",
    text="Subdue the accompaniment so that the melody may stand out strongly.",
    section=None,
    char_start=0,
    char_end=66,
    source=SourceRef(document_id="d", title="T", author="A"),
)


def test_complete_sentences_drops_a_cut_off_fragment():
    assert complete_sentences("Lift the pedal [2]. Then practise the bass") == "Lift the pedal [2]."
    assert complete_sentences('Play it "slowly." [3] and') == 'Play it "slowly." [3]'
    assert complete_sentences("Count aloud.") == "Count aloud."
    assert complete_sentences("no stop at all") == "no stop at all"  # nothing to keep but the whole


def test_drop_echoes_removes_sentences_copied_from_the_prompt():
    prompt = "The student's clean pedalling in the recording was weak, most of all at 0:10–0:18.\nAdvise the student."
    answer = (
        "The student's clean pedalling in the recording was weak, most of all at 0:10–0:18. "
        "Change the pedal with each new harmony [2]."
    )
    assert drop_echoes(answer, prompt) == "Change the pedal with each new harmony [2]."
    assert drop_echoes("Advise the student. Listen to the bass.", prompt) == "Listen to the bass."
    assert (
        drop_echoes("Yes. Listen to the bass.", "Yes. Advise.") == "Yes. Listen to the bass."
    )  # too short to call an echo


def test_drop_echoes_catches_the_worked_example_rewritten_with_the_students_times():
    from rag.generation.prompt import _EXAMPLE_ASSISTANT, dimension_messages, prompt_wording
    from tests._feedback_support import make_report

    assert "thumb under" in _EXAMPLE_ASSISTANT
    report = make_report({"balance": 0.30})
    messages = dimension_messages(report, "balance", _HIT, 2, level="intermediate")
    wording = prompt_wording(messages)
    assert (
        "thumb under" in wording and _HIT.text not in wording
    )  # the example's answer counts, the source does not
    answer = (
        "At 0:50–0:56 (bars 21–23), play the scale slowly with a loose wrist and pass the thumb under "
        "without turning the hand [2]. At 0:10–0:18 (bars 5–7), the student is at intermediate level [2]. "
        "At 0:10–0:18, subdue the accompaniment so that the melody may stand out strongly [2]."
    )
    assert (
        drop_echoes(answer, wording)
        == "At 0:10–0:18, subdue the accompaniment so that the melody may stand out strongly [2]."
    )


def test_attribute_marks_unmarked_sentences_only():
    text = 'Play slowly. Keep the wrist loose [4]. Listen! "Lift it."'
    assert attribute(text, 2) == 'Play slowly [2]. Keep the wrist loose [4]. Listen [2]! "Lift it [2]."'
    assert attribute("Without a stop", 3) == "Without a stop [3]."


def test_abbreviations_and_debris_are_not_sentences():
    text = "Nor do I admire the Nocturne in G minor, op. 37, No. 1. It has a complaining tone. 9 No."
    assert (
        attribute(drop_debris(text), 1)
        == "Nor do I admire the Nocturne in G minor, op. 37, No. 1 [1]. It has a complaining tone [1]."
    )


def test_copied_share_tells_copies_from_paraphrase():
    from eval.feedback_copying import copied_share, corpus_shingles

    book = "The damper pedal must be changed with every change of harmony, or the harmonies blur together into noise."
    corpus = corpus_shingles([book])
    text = (
        "Strength: your steady timing is the best of your quality scores (good).\n"
        "Clean pedalling is weak, especially at 0:10–0:18 (bars 5–7): The damper pedal must be changed with "
        "every change of harmony, or the harmonies blur together into noise [1]. "
        "Lift your foot whenever the chord underneath you moves to something new, so nothing smears [1]."
    )
    assert copied_share(text, corpus) == (1, 2)
