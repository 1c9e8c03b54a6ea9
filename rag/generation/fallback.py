"""Deterministic feedback when the LLM cannot answer (timeout, error, or no valid citation).

Composed from the scores, the weak spots and short quotes of the top passages, every piece of advice
cited. The output uses the prompt's source numbers; the citation check renumbers it like an LLM answer."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from rag.generation.citations import split_sentences
from rag.generation.dimension_words import (
    DIMENSION_WORDS,
    grade,
    plain_name,
    quality_by_goodness,
    spots_for,
    strongest,
    weakest_two,
)
from rag.retrieval.types import SearchHit
from scorer.schema import ScoreReport

QUOTE_WORDS = 28
_SENTENCES = re.compile(r"(?<=[.!?;])\s+")
_WORD = re.compile(r"[a-z]+")


def best_quote(passage: str, topic: str, max_words: int = QUOTE_WORDS) -> str:
    """The passage sentence sharing most words with the topic (ties: the earlier one), cut to max_words."""
    wanted = {w for w in _WORD.findall(topic.lower()) if len(w) > 3}
    sentences = [" ".join(s.split()) for s in _SENTENCES.split(passage) if len(s.split()) >= 6] or [
        " ".join(passage.split())
    ]

    def overlap(sentence: str) -> int:
        return len(
            wanted & {w[:6] for w in _WORD.findall(sentence.lower())}
            | wanted & set(_WORD.findall(sentence.lower()))
        )

    best = max(sentences, key=lambda s: (overlap(s), -sentences.index(s)))
    return cut_quote(best, max_words)


_CONTINUES = (";", ":", ",")  # a quote that stops on one of these stops inside its sentence


def whole_sentence(passage: str, clause: str, max_words: int = QUOTE_WORDS) -> str:
    """What to quote of ``passage`` around ``clause`` (the retriever's sentence units also end at ';' and ':',
    so its closest "sentence" may be half of one): the whole sentence around it when it fits in ``max_words``,
    else the clause; "…" wherever the quote starts or stops inside its sentence, so that a quote never reads
    as a whole sentence when it is not. Never widened back past a colon: what precedes one is a lead-in or
    a heading ("_Never Play with a Metronome_: You may use …")."""
    flat, clause = " ".join(passage.split()), " ".join(clause.split())
    at = flat.find(clause) if clause else -1
    if at < 0:
        return clause
    first, last, offset = at, at + len(clause), 0
    for sentence in (" ".join(s.split()) for s in split_sentences(passage)):  # line breaks end sentences
        start = flat.find(sentence, offset)
        if start < 0:
            continue
        end = offset = start + len(sentence)
        if start <= at < end or start < at + len(clause) <= end:
            first, last = min(first, start), max(last, end)
    colon = flat.rfind(": ", first, at)
    first = colon + 2 if colon >= 0 else first
    whole = flat[first:last]
    quote, lead = (whole, "") if len(whole.split()) <= max_words else (clause, "… " if first < at else "")
    if quote.endswith(_CONTINUES) or (quote is clause and last > at + len(clause)):
        return f"{lead}{quote.rstrip(''.join(_CONTINUES) + ' ')} …"
    return lead + quote


def quote_of(passage: str, sentence: str | None) -> str:
    """The quote of ``passage`` around its chosen ``sentence`` (the whole passage, cut, without one)."""
    return cut_quote(whole_sentence(passage, sentence) if sentence else passage)


def cut_quote(sentence: str, max_words: int = QUOTE_WORDS) -> str:
    """A quote of at most ``max_words`` words, with the passage's double quotes made single (ours delimit it)."""
    words = sentence.split()
    quote = " ".join(words[:max_words]) + (" …" if len(words) > max_words else "")
    return quote.replace("“", "'").replace("”", "'").replace('"', "'")


def strength_sentence(report: ScoreReport) -> str | None:
    best = strongest(report)
    if best is None:
        return None
    score = next(d for d in quality_by_goodness(report) if d.name == best)
    return f"Strength: your {plain_name(best)} is the best of your quality scores ({grade(score)})."


def weak_head(report: ScoreReport, name: str) -> str:
    """'Clean pedalling is weak, especially at 0:10–0:18 (bars 5–7)': what and where, no advice."""
    score = next(d for d in quality_by_goodness(report) if d.name == name)
    where = spots_for(report, name)
    head = f"{plain_name(name).capitalize()} is {grade(score)}"
    return head + (f", especially at {where}" if where else " throughout the recording")


def assign_sources(
    hits: Sequence[SearchHit], dims: Sequence[str | None], wanted: Sequence[str]
) -> dict[str, int]:
    """One distinct source per weak dimension: one retrieved for it if any, else the first unused."""
    chosen: dict[str, int] = {}
    for name in wanted:
        for i, dim in enumerate(dims):
            if dim == name and i not in chosen.values():
                chosen[name] = i
                break
    for name in wanted:
        if name not in chosen:
            free = [i for i in range(len(hits)) if i not in chosen.values()] or list(range(len(hits)))
            if free:
                chosen[name] = free[0]
    return chosen


def advice_clause(hit: SearchHit, n: int, name: str, sentence: str | None = None) -> str:
    """'practise those passages slowly with this advice from Matthay in mind, "…" [n].' — the cited advice of
    one weak dimension, quoting ``sentence`` (cut to the quote length), else the one sharing most topic words."""
    author = hit.source.author or hit.source.title
    quote = (
        quote_of(hit.text, sentence)
        if sentence
        else best_quote(hit.text, DIMENSION_WORDS[name].topic if name in DIMENSION_WORDS else name)
    )
    return f'practise those passages slowly with this advice from {author} in mind, "{quote}" [{n}].'


def fallback_feedback(
    report: ScoreReport,
    hits: Sequence[SearchHit],
    dims: Sequence[str | None],
    quotes: Mapping[int, str] | None = None,
) -> str:
    """``dims[i]`` is the weak dimension whose query retrieved ``hits[i]`` (None: the whole-performance query);
    ``quotes[i]``, when given, is the sentence of ``hits[i]`` to quote (else the one sharing most topic words)."""
    lines: list[str] = []
    strength = strength_sentence(report)
    if strength:
        lines.append(strength)
    weak = weakest_two(report)
    chosen = assign_sources(hits, dims, weak)
    for name in weak:
        # One sentence per weak dimension: what, where, and the cited advice (so no advice goes uncited).
        head = weak_head(report, name)
        if name not in chosen:
            lines.append(head + ".")
            continue
        i = chosen[name]
        lines.append(f"{head}: {advice_clause(hits[i], i + 1, name, (quotes or {}).get(i))}")
    if not hits:
        lines.append("No pedagogy passages were found for these weak spots, so no cited advice can be given.")
    return "\n".join(lines)


def fallback_answer(question: str, hits: Sequence[SearchHit], max_quotes: int = 2) -> str:
    """Chat fallback: what the top passages say about the question, quoted and cited."""
    if not hits:
        return "I found no pedagogy passage about that question, so I cannot give cited advice on it."
    lines = ["The teacher is unavailable right now; here is what the sources say about your question."]
    for n, hit in enumerate(hits[:max_quotes], start=1):
        author = hit.source.author or hit.source.title
        lines.append(f'{author} writes: "{best_quote(hit.text, question)}" [{n}].')
    return "\n".join(lines)
