"""Citation check: parse [n] / [n, m] / [n-m] markers, drop the ones that point to no given source,
renumber the cited sources in order of first use, and list them with their provenance.

Runs on the complete answer text (never on a streamed draft). Grounding — whether the cited passage
supports the sentence — is a separate step (rag/generation/grounding.py) over ``CheckedText.cited_sentences``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.generation.feedback_types import Citation
from rag.retrieval.types import SearchHit

# "[3]", "[1, 2]", "[1-3]", "[2–4]", "[1; 4]", and the small model's habit "[Source 2]".
_MARKER = re.compile(
    r"\[\s*(?:sources?\s*)?(\d+(?:\s*(?:,|;|-|–|and)\s*(?:sources?\s*)?\d+)*)\s*\]", re.IGNORECASE
)
_ITEM = re.compile(r"(\d+)(?:\s*[-–]\s*(\d+))?")
# A range wider than this is not a citation (e.g. "[1-1000]"); it is reported invalid as a whole.
_MAX_RANGE = 20
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_LEADING_MARKERS = re.compile(r"^(\s*\[[^\]]*\])+")


@dataclass(frozen=True)
class Marker:
    raw: str
    start: int
    end: int
    numbers: tuple[int, ...]  # as written, ranges expanded; empty if the range was absurd


@dataclass
class CheckedText:
    text: str  # invalid markers removed, valid ones renumbered
    citations: list[Citation]  # only sources actually cited, n = 1.. in order of first use
    invalid_markers: list[str]  # each invalid reference as written, e.g. "[7]"
    raw_references: int  # references in the raw text (a "[1, 2]" counts 2)
    raw_valid_references: int
    cited_sources: list[SearchHit] = field(default_factory=list)  # cited_sources[n-1] is new marker [n]
    cited_sentences: list[tuple[str, tuple[int, ...]]] = field(
        default_factory=list
    )  # (sentence, new numbers)

    @property
    def raw_validity(self) -> float | None:
        """Share of the raw model output's references that resolve to a given source."""
        return self.raw_valid_references / self.raw_references if self.raw_references else None


def strip_echoed_sources(text: str, sources: Sequence[SearchHit]) -> str:
    """Remove what a small model copies from the prompt's source list: "[2] Title — Author" header lines
    and delimiter lines. A copied header is not a citation, and must not pass as one."""
    kept = []
    for line in text.splitlines():
        bare = line.strip()
        if re.fullmatch(r"[<\[]/?\s*sources?\s*[>\]]", bare, flags=re.IGNORECASE):
            continue
        head = re.match(r"\[(\d+)\]\s*(.*)", bare)
        if head and 1 <= int(head.group(1)) <= len(sources):
            title = sources[int(head.group(1)) - 1].source.title
            if head.group(2)[:30].lower() == title[:30].lower():
                continue
        kept.append(line)
    return "\n".join(kept).strip()


def parse_markers(text: str) -> list[Marker]:
    markers: list[Marker] = []
    for match in _MARKER.finditer(text):
        numbers: list[int] = []
        for item in _ITEM.finditer(match.group(1)):
            first = int(item.group(1))
            last = int(item.group(2)) if item.group(2) else first
            if last < first or last - first > _MAX_RANGE:
                numbers = []
                break
            numbers.extend(range(first, last + 1))
        markers.append(Marker(match.group(0), match.start(), match.end(), tuple(numbers)))
    return markers


# A stop after these ("op. 37", "No. 2", "J. S. Bach", "Oscar Bie (tr."), or before a lower-case word,
# ends no sentence: split there, a citation at the real end would leave the first half uncited.
_ABBREVIATION = re.compile(
    r"(?:\b(?:op|no|nos|vol|pp?|cf|ch|fig|ex|mr|mrs|dr|st|tr|trans|transl|comp|ed|eds|viz|vs|approx|ca|e\.g|i\.e)"
    r"|\b[A-Z])\.$",
    re.IGNORECASE,
)


def split_sentences(text: str) -> list[str]:
    """Sentences (and list items), with markers written after the full stop kept on their sentence."""
    pieces: list[str] = []
    for line in re.split(r"\n+", text):  # a line break always ends a sentence (list items, paragraphs)
        merged: list[str] = []
        for piece in (p.strip() for p in _SENTENCE_END.split(line) if p and p.strip()):
            if (
                merged
                and not piece.startswith("[")
                and (_ABBREVIATION.search(merged[-1]) or piece[:1].islower())
            ):
                merged[-1] = f"{merged[-1]} {piece}"
            else:
                merged.append(piece)
        pieces += merged
    sentences: list[str] = []
    for piece in pieces:
        lead = _LEADING_MARKERS.match(piece)
        if lead and sentences:  # "Do X. [2] Then Y." -> "[2]" belongs to "Do X."
            sentences[-1] = f"{sentences[-1]} {lead.group(0).strip()}"
            piece = piece[lead.end() :].strip()
        if piece:
            sentences.append(piece)
    return sentences


def strip_markers(sentence: str) -> str:
    text = re.sub(r"\s+", " ", _MARKER.sub("", sentence))
    return re.sub(r" ([.,;:!?])", r"\1", text).strip()


def check_citations(text: str, sources: Sequence[SearchHit]) -> CheckedText:
    """``sources[i]`` is prompt source ``[i+1]``."""
    markers = parse_markers(text)
    renumber: dict[int, int] = {}
    invalid: list[str] = []
    raw_refs = raw_valid = 0
    out: list[str] = []
    cursor = 0
    for marker in markers:
        prefix = text[cursor : marker.start]
        cursor = marker.end
        if not marker.numbers:
            raw_refs += 1
            invalid.append(marker.raw)
            out.append(prefix.rstrip(" \t"))
            continue
        valid_new: list[int] = []
        for old in marker.numbers:
            raw_refs += 1
            if 1 <= old <= len(sources):
                raw_valid += 1
                new = renumber.setdefault(old, len(renumber) + 1)
                if new not in valid_new:
                    valid_new.append(new)
            else:
                invalid.append(f"[{old}]")
        if valid_new:
            out.append(prefix + "[" + ", ".join(str(n) for n in sorted(valid_new)) + "]")
        else:  # the whole marker pointed nowhere: drop it and the space before it
            out.append(prefix.rstrip(" \t"))
    out.append(text[cursor:])
    checked = re.sub(r"[ \t]+([.,;:!?])", r"\1", "".join(out)).strip()

    ordered = [sources[old - 1] for old, _ in sorted(renumber.items(), key=lambda kv: kv[1])]
    citations = [_citation(i + 1, hit) for i, hit in enumerate(ordered)]
    cited = []
    for sentence in split_sentences(checked):
        numbers = tuple(sorted({n for m in parse_markers(sentence) for n in m.numbers}))
        if numbers:
            cited.append((sentence, numbers))
    return CheckedText(checked, citations, invalid, raw_refs, raw_valid, ordered, cited)


def _citation(n: int, hit: SearchHit) -> Citation:
    return Citation(
        n=n,
        chunk_id=hit.chunk_id,
        title=hit.source.title,
        author=hit.source.author,
        year=hit.source.year,
        section=hit.section,
        url=hit.source.url,
        char_start=hit.char_start,
        char_end=hit.char_end,
    )
