"""Passes through the score: where a practice recording jumps in the score (a restart two bars back, a
repeat played, a skip forward, a start in the middle), so that each monotone stretch is aligned alone.

Method: one dynamic programme over (performance event, score event), the event similarity of
``note_match`` (substitution-tolerant), with moves: next score event (free), the same score event again
(a spread chord, a re-struck note: small cost), skip up to ``MAX_SKIP`` score events (missed notes: a cost
per event skipped), and a jump to any score event (``jump_penalty``). A performance may start anywhere in
the score (anywhere but the beginning at ``START_SHARE`` of a jump: most takes start at the top, and in
music whose first bars repeat a figure, a free start let an unrelated slip later in the take tip the path
into starting a bar late) and end anywhere. The path's jumps split the performance into passes; each pass covers the score
events between its first and last mapped event. Passes shorter than ``MIN_PASS_EVENTS`` events are folded
into their neighbour (a jump there and back is a stray match, not practice).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scorer.inference.features import Notes
from scorer.inference.note_match import _vectors, events

STAY_COST = 0.25
SKIP_COST = 0.6  # per score event skipped inside a pass
MAX_SKIP = 6
MIN_PASS_EVENTS = 4
START_SHARE = 0.25  # starting after the score's first event costs this share of a jump


@dataclass(frozen=True)
class PassSpan:
    """One pass: performance notes [p_start, p_end) (indices into the onset-sorted played notes) and the
    score notes [s_start, s_end) (indices into the onset-sorted score notes) it covers."""

    p_start: int
    p_end: int
    s_start: int
    s_end: int


def segment_passes(played: Notes, score: Notes, jump_penalty: float) -> list[PassSpan]:
    """Split ``played`` into monotone passes through ``score`` (both sorted by onset)."""
    n_p, n_s = played.pitch.size, score.pitch.size
    if n_p == 0 or n_s == 0:
        return []
    pe, se = events(played.onset), events(score.onset)
    n_pe, n_se = int(pe[-1]) + 1, int(se[-1]) + 1
    cost = 1.0 - _vectors(played.pitch, pe) @ _vectors(score.pitch, se).T
    inf = np.inf
    d = cost[0].copy()  # start anywhere, the top of the score a little more readily
    d[1:] += START_SHARE * jump_penalty
    back = np.zeros((n_pe, n_se), dtype=np.int32)  # predecessor score event (jumps included)
    jumped = np.zeros((n_pe, n_se), dtype=bool)
    idx = np.arange(n_se)
    for i in range(1, n_pe):
        best = d + STAY_COST  # stay on the same score event
        arg = idx.copy()
        for k in range(1, MAX_SKIP + 2):  # advance by k (k - 1 events skipped)
            cand = np.full(n_se, inf)
            cand[k:] = d[:-k] + SKIP_COST * (k - 1)
            better = cand < best
            best = np.where(better, cand, best)
            arg = np.where(better, idx - k, arg)
        j_min = int(np.argmin(d))
        jump = d[j_min] + jump_penalty
        jb = jump < best
        best = np.where(jb, jump, best)
        arg = np.where(jb, j_min, arg)
        back[i] = arg
        jumped[i] = jb
        d = best + cost[i]
    # backtrack
    path = np.zeros(n_pe, dtype=np.int64)
    jumps = np.zeros(n_pe, dtype=bool)
    j = int(np.argmin(d))
    for i in range(n_pe - 1, -1, -1):
        path[i] = j
        if i > 0:
            jumps[i] = jumped[i, j]
            j = int(back[i, j])
    bounds = [0, *np.flatnonzero(jumps).tolist(), n_pe]
    segs = [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=False) if b > a]
    # fold stray short passes into the previous one (or the next, for the first)
    merged: list[tuple[int, int]] = []
    for a, b in segs:
        if merged and b - a < MIN_PASS_EVENTS:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    if len(merged) > 1 and merged[0][1] - merged[0][0] < MIN_PASS_EVENTS:
        merged[1] = (merged[0][0], merged[1][1])
        merged.pop(0)
    out = []
    for a, b in merged:
        seg = path[a:b]
        lo, hi = int(seg.min()), int(seg.max())  # monotone inside a pass
        p_idx = np.flatnonzero((pe >= a) & (pe < b))
        s_idx = np.flatnonzero((se >= lo) & (se <= hi))
        out.append(PassSpan(int(p_idx[0]), int(p_idx[-1]) + 1, int(s_idx[0]), int(s_idx[-1]) + 1))
    return out
