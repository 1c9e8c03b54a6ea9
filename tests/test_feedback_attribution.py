"""Post-processing of per-dimension answers (rag/attribution.py): cut fragments, dropped prompt echoes,
markers attached to the one given source — and the model's own markers left alone."""

from __future__ import annotations

from rag.attribution import attribute, complete_sentences, drop_debris, drop_echoes


def test_complete_sentences_drops_a_cut_off_fragment():
    assert complete_sentences("Lift the pedal [2]. Then practise the bass") == "Lift the pedal [2]."
    assert complete_sentences('Play it "slowly." [3] and') == 'Play it "slowly." [3]'
    assert complete_sentences("Count aloud.") == "Count aloud."
    assert complete_sentences("no stop at all") == "no stop at all"  # nothing to keep but the whole


def test_drop_echoes_removes_sentences_copied_from_the_prompt():
    prompt = "The student's clean pedalling in the recording was weak, most of all at 0:10–0:18.\nAdvise the student."
    answer = ("The student's clean pedalling in the recording was weak, most of all at 0:10–0:18. "
              "Change the pedal with each new harmony [2].")
    assert drop_echoes(answer, prompt) == "Change the pedal with each new harmony [2]."
    assert drop_echoes("Advise the student. Listen to the bass.", prompt) == "Listen to the bass."
    assert drop_echoes("Yes. Listen to the bass.", "Yes. Advise.") == "Yes. Listen to the bass."  # too short to call an echo


def test_attribute_marks_unmarked_sentences_only():
    text = 'Play slowly. Keep the wrist loose [4]. Listen! "Lift it."'
    assert attribute(text, 2) == 'Play slowly [2]. Keep the wrist loose [4]. Listen [2]! "Lift it [2]."'
    assert attribute("Without a stop", 3) == "Without a stop [3]."


def test_abbreviations_and_debris_are_not_sentences():
    text = "Nor do I admire the Nocturne in G minor, op. 37, No. 1. It has a complaining tone. 9 No."
    assert attribute(drop_debris(text), 1) == \
        "Nor do I admire the Nocturne in G minor, op. 37, No. 1 [1]. It has a complaining tone [1]."


def test_copied_share_tells_copies_from_paraphrase():
    from eval.feedback_copying import copied_share, corpus_shingles

    book = "The damper pedal must be changed with every change of harmony, or the harmonies blur together into noise."
    corpus = corpus_shingles([book])
    text = ("Strength: your steady timing is the best of your quality scores (good).\n"
            "Clean pedalling is weak, especially at 0:10–0:18 (bars 5–7): The damper pedal must be changed with "
            "every change of harmony, or the harmonies blur together into noise [1]. "
            "Lift your foot whenever the chord underneath you moves to something new, so nothing smears [1].")
    assert copied_share(text, corpus) == (1, 2)
