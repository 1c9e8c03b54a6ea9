"""Post-processing of a per-dimension answer (one LLM call that was given exactly one source).

- ``complete_sentences``: drop a trailing fragment cut off by the token cap (it would be uncited).
- ``drop_debris``: drop pieces of fewer than three words (what is left of a cut or confused answer);
- ``drop_echoes``: drop sentences copied from the prompt's own wording (outside the passage): the 0.5B
  model repeats the situation line or the task, which is neither advice nor supported by the passage.
- ``attribute``: a sentence the model left without a marker gets the number of the one source it was
  given. That is attribution by construction, not a claim of support: the grounding check still scores
  every such sentence against the passage, and markers the model wrote itself are kept (and are what
  `rag-eval feedback` counts as raw citation validity)."""

from __future__ import annotations

import re

from rag.generation.citations import parse_markers, split_sentences, strip_markers

_SENTENCE_END = re.compile(r"[.!?][\"'”’)]*(?:\s*\[[^\]]*\])*(?=\s|$)")
_SPACE = re.compile(r"\s+")


def complete_sentences(text: str) -> str:
    text = text.strip()
    ends = list(_SENTENCE_END.finditer(text))
    if not ends or ends[-1].end() == len(text):
        return text
    return text[: ends[-1].end()]


def _norm(text: str) -> str:
    return _SPACE.sub(" ", strip_markers(text)).strip(" .:;,").lower()


_WORDS = re.compile(r"[a-z]+")
# "At 0:50–0:56 (bars 21–23) and 1:09–1:16," - where the model (as the worked example shows) starts its advice
_WHERE = re.compile(
    r"^\s*at\s+[\d:–\-\s]+(?:\(bars?[^)]*\))?(?:\s*and\s+[\d:–\-\s]+(?:\(bars?[^)]*\))?)*\s*,?\s*", re.I
)
ECHO_SHARE = 0.6  # share of a sentence's word trigrams found in the prompt's wording that makes it an echo


def word_ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = _WORDS.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def word_trigrams(text: str) -> set[tuple[str, ...]]:
    return word_ngrams(text, 3)


def is_echo(sentence: str, wording_trigrams: set[tuple[str, ...]]) -> bool:
    """Mostly the prompt's own words, with the time or marker changed: the 0.5B model rewrote the worked
    example ("At 0:50–0:56, play the scale slowly with a loose wrist …") or the situation line ("the student
    is at intermediate level") with the student's times."""
    grams = word_trigrams(_WHERE.sub("", strip_markers(sentence)))
    return len(grams) >= 2 and sum(g in wording_trigrams for g in grams) / len(grams) >= ECHO_SHARE


def drop_echoes(text: str, prompt_wording: str) -> str:
    """Sentences of ``text`` that occur in ``prompt_wording`` (case and spacing aside), or whose words mostly
    do (``is_echo``), are removed."""
    wording = _norm(prompt_wording)
    grams = word_trigrams(prompt_wording)
    kept = [
        s
        for s in split_sentences(text)
        if len(_norm(s)) < 12 or (_norm(s) not in wording and not is_echo(s, grams))
    ]
    return " ".join(kept)


MIN_WORDS = 3  # shorter pieces of a per-dimension answer are debris ("9 No."), not advice


def drop_debris(text: str) -> str:
    return " ".join(s for s in split_sentences(text) if len(strip_markers(s).split()) >= MIN_WORDS)


def attribute(text: str, n: int) -> str:
    """Append ``[n]`` to each sentence that carries no marker."""
    out = []
    for sentence in split_sentences(text):
        if parse_markers(sentence):
            out.append(sentence)
            continue
        stop = re.search(r"[.!?][\"'”’)]*$", sentence)
        out.append(
            f"{sentence[: stop.start()]} [{n}]{sentence[stop.start() :]}" if stop else f"{sentence} [{n}]."
        )
    return " ".join(out)
