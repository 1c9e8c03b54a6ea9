"""Paragraph-aware chunking sized in word pieces of the active embedder's tokenizer.

Units are sentences inside paragraphs. A chunk is a contiguous run of units that

* never exceeds ``max_tokens`` (the embedder's limit minus the context-header budget),
* prefers to end at a paragraph end and always starts a new chunk at a section heading,
* overlaps the previous chunk by about ``overlap`` of its budget (whole sentences),
* is never a fragment: a tail shorter than ``min_tokens`` is merged into its neighbour.

Every chunk's ``text == source[char_start:char_end]`` so a citation can point at the exact passage.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from corpus.structure import split_blocks

TokenCounter = Callable[[Sequence[str]], list[int]]

_SENTENCE_END = re.compile(r"(?<=[.!?;:])[\"'’”)\]]*\s+(?=\S)")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class ChunkSpan:
    char_start: int
    char_end: int
    text: str
    section: str | None
    n_tokens: int  # word pieces of the text alone (no header, no special tokens)


@dataclass
class _Unit:
    start: int
    end: int
    tokens: int
    paragraph_end: bool
    section: str | None
    heading: bool


def _split_long(text: str, offset: int, count: TokenCounter, max_tokens: int) -> list[tuple[int, int]]:
    """Split a sentence longer than the budget at word boundaries (rare: tables, lists)."""
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    pieces: list[tuple[int, int]] = []
    i = 0
    while i < len(words):
        lo, hi = i, len(words)
        # binary search the longest word run that fits
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count([text[words[i][0] : words[mid - 1][1]]])[0] <= max_tokens:
                lo = mid
            else:
                hi = mid - 1
        j = max(lo, i + 1)
        pieces.append((offset + words[i][0], offset + words[j - 1][1]))
        i = j
    return pieces


def _units(text: str, count: TokenCounter, max_tokens: int) -> list[_Unit]:
    blocks = split_blocks(text)
    spans: list[tuple[int, int, bool, str | None, bool]] = []  # start, end, paragraph_end, section, heading
    section: str | None = None
    for block in blocks:
        if block.heading is not None:
            section = block.heading
            spans.append((block.start, block.end, True, section, True))
            continue
        cuts = [0] + [m.end() for m in _SENTENCE_END.finditer(block.text)] + [len(block.text)]
        sentences = [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if block.text[a:b].strip()]
        for n, (a, b) in enumerate(sentences):
            raw = block.text[a:b]
            stripped = raw.rstrip()
            spans.append(
                (block.start + a, block.start + a + len(stripped), n == len(sentences) - 1, section, False)
            )
    token_counts = count([text[s:e] for s, e, *_ in spans]) if spans else []
    units: list[_Unit] = []
    for (start, end, par_end, sec, heading), tokens in zip(spans, token_counts, strict=False):
        if tokens > max_tokens:
            pieces = _split_long(text[start:end], start, count, max_tokens)
            piece_tokens = count([text[a:b] for a, b in pieces])
            for k, ((a, b), t) in enumerate(zip(pieces, piece_tokens, strict=False)):
                units.append(_Unit(a, b, t, par_end and k == len(pieces) - 1, sec, heading))
        else:
            units.append(_Unit(start, end, tokens, par_end, sec, heading))
    return units


def chunk_text(
    text: str,
    *,
    count: TokenCounter,
    max_tokens: int,
    overlap: float = 0.15,
    min_tokens: int | None = None,
) -> list[ChunkSpan]:
    """Chunk ``text``; ``count`` returns word-piece counts for a batch of strings."""
    if max_tokens < 16:
        raise ValueError("max_tokens must be at least 16")
    min_tokens = min_tokens if min_tokens is not None else max(8, max_tokens // 4)
    units = _units(text, count, max_tokens)
    # Joining units adds at most a word piece or two per boundary; keep a small safety margin.
    budget = max_tokens - 2
    groups = _group_units(units, budget=budget, overlap_budget=int(max_tokens * overlap))
    return _chunk_spans(text, units, _merge_fragments(units, groups, budget=budget, min_tokens=min_tokens))


def _group_units(units: list[_Unit], *, budget: int, overlap_budget: int) -> list[list[int]]:
    """Consecutive units up to the budget, ending at a paragraph end when that keeps a chunk reasonably
    full; each group starts with the previous one's trailing sentences (the overlap), never across a heading."""
    groups: list[list[int]] = []
    i = 0
    while i < len(units):
        group = [i]
        total = units[i].tokens
        j = i + 1
        while j < len(units) and not units[j].heading and total + units[j].tokens + 1 <= budget:
            total += units[j].tokens + 1
            group.append(j)
            j += 1
        # Prefer to end at a paragraph end when that keeps the chunk reasonably full.
        if j < len(units) and not units[j].heading:
            for back in range(len(group) - 1, 0, -1):
                if units[group[back]].paragraph_end:
                    kept = sum(units[g].tokens + 1 for g in group[: back + 1])
                    if kept >= 0.6 * budget:
                        group = group[: back + 1]
                    break
        groups.append(group)
        nxt = group[-1] + 1
        if nxt >= len(units):
            break
        if units[nxt].heading:
            i = nxt  # no overlap across a section boundary
            continue
        # Overlap: step back over whole trailing sentences that fit the overlap budget.
        start = nxt
        carried = 0
        while (
            start - 1 > group[0]
            and not units[start - 1].heading
            and carried + units[start - 1].tokens <= overlap_budget
        ):
            start -= 1
            carried += units[start].tokens
        i = start
    return groups


def _merge_fragments(
    units: list[_Unit], groups: list[list[int]], *, budget: int, min_tokens: int
) -> list[list[int]]:
    """No fragments: a short group joins its predecessor when they fit together, else its successor."""
    merged: list[list[int]] = []
    for group in groups:
        tokens = sum(units[g].tokens + 1 for g in group)
        if merged and tokens < min_tokens:
            union = sorted(set(merged[-1]) | set(group))
            union = list(range(union[0], union[-1] + 1))
            if sum(units[g].tokens + 1 for g in union) <= budget:
                merged[-1] = union
                continue
        if merged:
            prev_tokens = sum(units[g].tokens + 1 for g in merged[-1])
            if prev_tokens < min_tokens:
                union = list(range(merged[-1][0], group[-1] + 1))
                if sum(units[g].tokens + 1 for g in union) <= budget:
                    merged[-1] = union
                    continue
        merged.append(group)
    return merged


def _chunk_spans(text: str, units: list[_Unit], groups: list[list[int]]) -> list[ChunkSpan]:
    chunks: list[ChunkSpan] = []
    for group in groups:
        first, last = units[group[0]], units[group[-1]]
        # A chunk made only of headings carries no content worth retrieving.
        if all(units[g].heading for g in group):
            continue
        body = text[first.start : last.end]
        section = first.section
        chunks.append(
            ChunkSpan(
                first.start, last.end, body, section, sum(units[g].tokens for g in group) + len(group) - 1
            )
        )
    return chunks


def sentence_spans(text: str, *, count: TokenCounter, max_tokens: int) -> list[tuple[int, int]]:
    """(start, end) of the sentences of ``text`` (the chunker's own units, headings left out), each at most
    ``max_tokens`` word pieces: what the sentence-level second stage embeds."""
    return [
        (u.start, u.end)
        for u in _units(text, count, max_tokens)
        if not u.heading and text[u.start : u.end].strip()
    ]


def normalise_for_hash(text: str) -> str:
    """What dedup compares: whitespace-insensitive, case-sensitive text."""
    return _WHITESPACE.sub(" ", text).strip()
