"""Leak-free 4-fold cross-validation grouped by musical content.

Passage = piece + bar count + segment (all performers of the same music). Passages that share music are
then merged: most 16-bar D960 segments contain an 8-bar segment of the same performer note for note.
Sharing is detected from the MIDI: the share of a performance's pitch 4-grams (onset order, chords
ordered by pitch) found in another performance of the same piece by the same performer. (Across
performers, exact n-grams are too fragile - asynchrony and wrong notes - and a looser measure merges
most of a movement through repeated figures; the leak the published folds had is the copied recording.) Connected passages form one
group; groups are dealt to folds greedily by size, deterministically.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from scorer.training.dataset import midi_path, parse_key

N_FOLDS = 4
NGRAM = 4
# containment at or above this means "a copy of the same recording" (measured on PercePiano: copied
# same-performer segments score >= 0.9; other same-performer pairs mostly < 0.3)
CONTAINMENT_THRESHOLD = 0.6


def pitch_ngrams(path: Path, n: int = NGRAM) -> set[tuple[int, ...]]:
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(str(path))
    # Onset order (10 ms resolution, chords by pitch): a copy of the same performance matches exactly.
    notes = sorted((round(note.start, 2), note.pitch) for inst in midi.instruments for note in inst.notes)
    seq = [p for _, p in notes]
    return {tuple(seq[i : i + n]) for i in range(len(seq) - n + 1)}


def containment(a: set[tuple[int, ...]], b: set[tuple[int, ...]]) -> float:
    """Share of the smaller set found in the larger one."""
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    return len(small & large) / max(len(small), 1)


class _UnionFind:
    def __init__(self, items: Iterable[str]) -> None:
        self.parent = {x: x for x in items}

    def find(self, x: str) -> str:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def music_groups(
    percepiano_dir: Path, keys: Iterable[str], threshold: float = CONTAINMENT_THRESHOLD
) -> dict[str, str]:
    """key -> group id (connected passages that share music)."""
    keys = sorted(keys)
    parsed = {k: parse_key(k) for k in keys}
    uf = _UnionFind(p.passage for p in parsed.values())
    grams = {k: pitch_ngrams(midi_path(percepiano_dir, k)) for k in keys}
    by_piece: dict[str, list[str]] = defaultdict(list)
    for k, p in parsed.items():
        by_piece[p.piece].append(k)
    for piece_keys in by_piece.values():
        # Same-performer pairs of different passages: a segment copied into a longer one (e.g. an
        # 8-bar D960 segment inside the 16-bar one) is the same recording, so it must stay in one fold.
        for i, a in enumerate(piece_keys):
            for b in piece_keys[i + 1 :]:
                if parsed[a].performer != parsed[b].performer:
                    continue  # the same music by other players is what CV must generalise to
                pa, pb = parsed[a].passage, parsed[b].passage
                if pa == pb or uf.find(pa) == uf.find(pb):
                    continue
                if containment(grams[a], grams[b]) >= threshold:
                    uf.union(pa, pb)
    return {k: uf.find(parsed[k].passage) for k in keys}


def assign_folds(groups: Mapping[str, str], n_folds: int = N_FOLDS) -> dict[str, int]:
    """Deal groups to folds, largest first, each to the fold with the fewest performances."""
    members: dict[str, list[str]] = defaultdict(list)
    for key, g in groups.items():
        members[g].append(key)
    sizes = np.zeros(n_folds, dtype=int)
    folds: dict[str, int] = {}
    for g in sorted(members, key=lambda g: (-len(members[g]), g)):
        f = int(np.argmin(sizes))
        sizes[f] += len(members[g])
        for key in members[g]:
            folds[key] = f
    return dict(sorted(folds.items()))


def performer_folds(keys: Iterable[str], n_folds: int = N_FOLDS) -> dict[str, int]:
    """A second split: every performer's performances in one fold (does a model generalise to new players?)."""
    groups = {k: parse_key(k).performer for k in keys}
    return assign_folds(groups, n_folds)


def save_folds(path: Path, folds: Mapping[str, int], groups: Mapping[str, str]) -> None:
    payload = {
        "n_folds": N_FOLDS,
        "method": "passage (piece+bars+segment), merged by pitch 4-gram containment >= "
        f"{CONTAINMENT_THRESHOLD} within a piece; groups dealt largest-first",
        "folds": dict(folds),
        "groups": dict(groups),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")


def load_folds(path: Path) -> dict[str, int]:
    return {k: int(v) for k, v in json.loads(path.read_text())["folds"].items()}
