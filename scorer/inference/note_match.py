"""Score-to-performance note matching for the note-level assessment: which played note is which notated
note, which notated notes were substituted (wrong), skipped (missed), and which played notes are extra.

Method (measured against parangonar's DualDTWNoteMatcher and ``align.align`` in
eval/results/note_alignment.md):

1. onsets within ``EVENT_GAP_S`` form events on both sides;
2. dynamic time warping over the events with a *substitution-tolerant* similarity: besides the exact pitch
   (weight 1) and the pitch class, each pitch also lights its neighbours a semitone and a tone away and its
   octaves a little, so a passage played a semitone off still lines up with its own place in the score
   instead of dragging the path elsewhere (``align.align`` compares exact pitches and pitch classes only);
3. along the path, notes of the same pitch pair up (each note once); then unpaired notes of the same pitch
   whose times agree through the local score-to-performance map pair up too (the path can step past a
   note of a spread chord);
4. an unpaired notated note and an unpaired played note in the same aligned event (or within
   ``WRONG_TOL_S`` of where the note should sound) form a substitution: one "wrong" note, the plausible
   slips (a semitone, a tone, an octave) first, then the nearest pitch (at most an octave apart);
5. what is left is missed (notated) or extra (played); the assessment filters both conservatively.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scorer.inference.align import MAX_DTW_CELLS, AlignmentTooLong, events
from scorer.inference.features import Notes

# similarity weights of a note's neighbours (see module docstring, step 2)
_NEIGHBOURS = ((1, 0.35), (-1, 0.35), (2, 0.15), (-2, 0.15), (12, 0.2), (-12, 0.2))
WRONG_TOL_S = 0.25  # a substitution played this far from its notated place is two errors (missed + extra)
NEAR_TOL_S = 0.25  # second-chance pairing of same-pitch notes through the time map (off-time, not wrong)
REPAIR_TOL_S = 0.3  # a path pair this far from the time map is a slip of the path, paired again
PLAUSIBLE_SLIPS = (1, 2, 12)  # semitones: a substitution at these intervals is paired first
OUTLIER_SLOPE = 2.5  # an anchor whose tempo to both neighbours is this far off the overall one is a slip


@dataclass(frozen=True)
class NoteMatch:
    """Index arrays into the played notes (``p``) and the score notes (``s``), all sorted by played time.

    ``pairs``: correct notes; ``wrong``: substitutions (played p instead of notated s); ``missed``: notated
    notes with no played counterpart; ``extra``: played notes with no notated counterpart. ``anchor_*``:
    monotone (performance s, score s) points of the time map."""

    pairs: np.ndarray  # (n, 2) [p, s]
    wrong: np.ndarray  # (n, 2) [p, s]
    missed: np.ndarray  # (n,) s
    extra: np.ndarray  # (n,) p
    anchor_perf_s: np.ndarray
    anchor_score_s: np.ndarray

    def to_performance_time(self, score_s: np.ndarray) -> np.ndarray:
        """Score seconds -> performance seconds: piecewise linear between anchors, extrapolated at the
        overall tempo beyond them."""
        return map_time(np.asarray(score_s, dtype=np.float64), self.anchor_score_s, self.anchor_perf_s)

    def to_score_time(self, perf_s: np.ndarray) -> np.ndarray:
        return map_time(np.asarray(perf_s, dtype=np.float64), self.anchor_perf_s, self.anchor_score_s)

    def heard(self, n_score: int) -> np.ndarray:
        """Mask over the ``n_score`` score notes: played, right or as a substitution."""
        mask = np.zeros(n_score, dtype=bool)
        mask[self.pairs[:, 1]] = True
        mask[self.wrong[:, 1]] = True
        return mask


def map_time(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """Piecewise-linear map through (xp, fp) with linear extrapolation at the overall slope."""
    if xp.size == 0:
        return x.copy()
    if xp.size == 1:
        return x - xp[0] + fp[0]
    slope = float(np.polyfit(xp, fp, 1)[0]) if np.ptp(xp) > 0 else 1.0
    slope = slope if slope > 0 else 1.0
    out = np.interp(x, xp, fp)
    out = np.where(x < xp[0], fp[0] - (xp[0] - x) * slope, out)
    return np.where(x > xp[-1], fp[-1] + (x - xp[-1]) * slope, out)


def _vectors(pitch: np.ndarray, ev: np.ndarray) -> np.ndarray:
    n = int(ev[-1]) + 1 if ev.size else 0
    vec = np.zeros((n, 128 + 12))
    p = pitch.astype(np.int64).clip(0, 127)
    np.add.at(vec, (ev, p), 1.0)
    for d, w in _NEIGHBOURS:
        q = p + d
        ok = (q >= 0) & (q < 128)
        np.add.at(vec, (ev[ok], q[ok]), w)
    np.add.at(vec, (ev, 128 + p % 12), 0.3)
    return vec / (np.linalg.norm(vec, axis=1, keepdims=True) + 1e-9)


def _monotone_anchors(pt: np.ndarray, st: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(perf s, score s) points of matched notes, one per score onset (median played time), kept strictly
    increasing on both axes (the longest such chain, greedy from a robust start)."""
    if pt.size == 0:
        return np.zeros(0), np.zeros(0)
    order = np.argsort(st, kind="stable")
    st, pt = st[order], pt[order]
    ev = events(st, 1e-4)
    s_u = np.array([st[ev == e][0] for e in range(int(ev[-1]) + 1)])
    p_u = np.array([np.median(pt[ev == e]) for e in range(int(ev[-1]) + 1)])
    # longest increasing subsequence on p_u (s_u increases already): drops stray pairs
    n = p_u.size
    tails: list[int] = []
    prev = np.full(n, -1)
    for i in range(n):
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if p_u[tails[mid]] < p_u[i]:
                lo = mid + 1
            else:
                hi = mid
        if lo > 0:
            prev[i] = tails[lo - 1]
        if lo == len(tails):
            tails.append(i)
        else:
            tails[lo] = i
    chain = []
    k = tails[-1] if tails else -1
    while k >= 0:
        chain.append(k)
        k = int(prev[k])
    chain = chain[::-1]
    return p_u[chain], s_u[chain]


def _drop_outlier_anchors(ap: np.ndarray, as_: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop anchors whose local tempo to both neighbours is ``OUTLIER_SLOPE`` times off the median local
    tempo: the path paired a note with the same pitch a bar away (repeated chords), not a tempo change."""
    if ap.size < 4:
        return ap, as_
    keep = np.ones(ap.size, dtype=bool)
    for _ in range(3):
        a, s = ap[keep], as_[keep]
        slope = np.diff(a) / np.maximum(np.diff(s), 1e-6)
        ref = float(np.median(slope))
        if ref <= 0:
            break
        log_ratio = np.log(np.maximum(slope, 1e-6) / ref)
        off = np.abs(log_ratio) > np.log(OUTLIER_SLOPE)
        # a slip is a spike: far too fast on one side and far too slow on the other; far too slow on both
        # sides is the player taking time (a held chord, a bar played slower), not a slip
        spike = np.sign(log_ratio[:-1]) != np.sign(log_ratio[1:])
        bad = np.zeros(a.size, dtype=bool)
        bad[1:-1] = off[:-1] & off[1:] & spike
        if not bad.any():
            break
        idx = np.flatnonzero(keep)
        keep[idx[bad]] = False
    return ap[keep], as_[keep]


def _slip_rank(interval: int) -> int:
    """0 for the plausible slips (a neighbour key, a tone, the octave), 1 for any other interval."""
    return 0 if abs(interval) in PLAUSIBLE_SLIPS else 1


def _substitutions(
    played: Notes,
    score: Notes,
    path: np.ndarray,
    p_of: list[np.ndarray],
    s_of: list[np.ndarray],
    predicted: np.ndarray,
    s_used: np.ndarray,
    p_used: np.ndarray,
    optional: np.ndarray,
    max_wrong_interval: int,
) -> list[tuple[int, int]]:
    """Unpaired (played, notated) pairs that form wrong notes: a played note of the notated note's aligned
    event (else one within ``WRONG_TOL_S / 2`` of its predicted time) and at most ``max_wrong_interval``
    apart. All candidates compete at once, plausible slips first (+-1, +-2, +-12 semitones), then the
    same event, the nearest pitch, the nearest time: a chord that already lacks a note (58 played as 46
    beside an unplayed 56) pairs the octave slip, not the nearest pitch (``s`` updated in place)."""
    cells = sorted({(int(i), int(j)) for i, j in path})
    by_score_event: dict[int, list[int]] = {}
    for i, j in cells:
        by_score_event.setdefault(j, []).append(i)
    cands: list[tuple[int, int, int, float, int, int]] = []
    for j, notated in enumerate(s_of):
        free_s = [int(s) for s in notated if not s_used[s] and not optional[s]]
        if not free_s:
            continue
        in_event = {int(p) for i in by_score_event.get(j, []) for p in p_of[i] if not p_used[p]}
        for s in free_s:
            dt = np.abs(played.onset - predicted[s])
            for p in map(int, np.flatnonzero(~p_used & (dt < WRONG_TOL_S))):
                interval = int(played.pitch[p]) - int(score.pitch[s])
                if not 0 < abs(interval) <= max_wrong_interval:
                    continue
                same = p in in_event
                if not same and dt[p] >= WRONG_TOL_S / 2:
                    continue
                cands.append((_slip_rank(interval), 0 if same else 1, abs(interval), float(dt[p]), p, s))
    wrong: list[tuple[int, int]] = []
    for cand in sorted(cands):
        p, s = cand[4], cand[5]
        if not s_used[s] and not p_used[p]:
            s_used[s] = p_used[p] = True
            wrong.append((p, s))
    return wrong


def _same_key_matching(p_times: np.ndarray, s_times: np.ndarray) -> list[tuple[int, int]]:
    """The most pairs between one key's played onsets and its notated onsets (mapped to performance time),
    both sorted, in order (a key cannot be struck out of order) and each within ``NEAR_TOL_S``; among
    those, the least total time difference. Indices into the two arrays."""
    n, m = p_times.size, s_times.size
    # best[i][j] = (pairs, -total difference) using the first i played and the first j notated onsets
    best = [[(0, 0.0)] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            options = [best[i - 1][j], best[i][j - 1]]
            dt = abs(float(p_times[i - 1] - s_times[j - 1]))
            if dt < NEAR_TOL_S:
                k, cost = best[i - 1][j - 1]
                options.append((k + 1, cost - dt))
            best[i][j] = max(options)
    out: list[tuple[int, int]] = []
    i, j = n, m
    while i and j:
        if best[i][j] == best[i - 1][j]:
            i -= 1
        elif best[i][j] == best[i][j - 1]:
            j -= 1
        else:
            out.append((i - 1, j - 1))
            i, j = i - 1, j - 1
    return out[::-1]


SAME_KEY_SPAN_S = 1.5  # how far around a key's unpaired notes its pairs may be re-made


def _repair_same_key_order(
    played: Notes,
    score: Notes,
    pairs: list[tuple[int, int]],
    predicted: np.ndarray,
    s_used: np.ndarray,
    p_used: np.ndarray,
) -> list[tuple[int, int]]:
    """Re-pair one key's notes in order where that leaves fewer of them unpaired. A chord rolled or spread
    (each note its own event) beside the same key in the next chord lets the path pair a played note with
    the later notated one, so the notated note before it reads as missed and the played note after as
    extra; in order, within ``NEAR_TOL_S`` of the time map each, all of them pair. Only a key with an
    unpaired notated and an unpaired played note near each other is looked at, only a re-pairing that
    pairs more of its notes is taken, and a notated note with an unpaired slip (a semitone, a tone, an
    octave) beside it is left to the substitutions (``s_used``/``p_used`` updated in place)."""
    by_pair = {int(s): int(p) for p, s in pairs}

    def slip_partner(s: int) -> bool:  # an unpaired note a plausible slip away, where s should sound
        near = np.flatnonzero(~p_used & (np.abs(played.onset - predicted[s]) < WRONG_TOL_S / 2))
        return any(abs(int(played.pitch[p]) - int(score.pitch[s])) in PLAUSIBLE_SLIPS for p in near)

    for key in np.intersect1d(played.pitch[~p_used], score.pitch[~s_used]):
        loose_p = np.flatnonzero(~p_used & (played.pitch == key))
        # a notated note with a slip beside it is a wrong note (step 4), not a note to pair elsewhere
        held = {int(s) for s in np.flatnonzero(~s_used & (score.pitch == key)) if slip_partner(int(s))}
        loose_s = np.array(
            [s for s in np.flatnonzero(~s_used & (score.pitch == key)) if int(s) not in held], dtype=np.int64
        )
        if loose_s.size == 0:
            continue
        times = np.concatenate([played.onset[loose_p], predicted[loose_s]])
        lo, hi = float(times.min()) - SAME_KEY_SPAN_S, float(times.max()) + SAME_KEY_SPAN_S
        ps = np.flatnonzero((played.pitch == key) & (played.onset >= lo) & (played.onset <= hi))
        ss = np.flatnonzero((score.pitch == key) & (predicted >= lo) & (predicted <= hi))
        ps = ps[np.argsort(played.onset[ps], kind="stable")]
        ss = ss[np.argsort(predicted[ss], kind="stable")]
        # notes of this key paired outside the window keep their pairs: only pairs inside it are re-made
        in_window = set(map(int, ps))
        inside = {s: by_pair[s] for s in map(int, ss) if by_pair.get(s) in in_window}
        free_p = np.array([p for p in map(int, ps) if not p_used[p] or p in inside.values()], dtype=np.int64)
        free_s = np.array(
            [s for s in map(int, ss) if (not s_used[s] and s not in held) or s in inside], dtype=np.int64
        )
        if free_p.size == 0 or free_s.size == 0:
            continue
        matching = _same_key_matching(played.onset[free_p], predicted[free_s])
        if len(matching) <= len(inside):
            continue
        for s, p in inside.items():
            p_used[p] = s_used[s] = False
            del by_pair[s]
        for a, b in matching:
            p, s = int(free_p[a]), int(free_s[b])
            p_used[p] = s_used[s] = True
            by_pair[s] = p
    return [(p, s) for s, p in by_pair.items()]


def match_notes(
    played: Notes, score: Notes, optional: np.ndarray | None = None, max_wrong_interval: int = 12
) -> NoteMatch:
    """Match ``played`` (sorted by onset) against ``score`` (sorted by onset) for one monotone pass.
    ``optional``: score notes (e.g. grace notes) whose absence is not an error and that never form a
    substitution. ``max_wrong_interval``: the widest substitution (semitones); a wider pair stays a missed
    and an extra note (a transcription's octave and fifth confusions are no wrong notes)."""
    import librosa

    n_p, n_s = played.pitch.size, score.pitch.size
    optional = np.zeros(n_s, dtype=bool) if optional is None else optional
    empty2 = np.zeros((0, 2), dtype=np.int64)
    if n_p == 0 or n_s == 0:
        return NoteMatch(empty2, empty2, np.flatnonzero(~optional), np.arange(n_p), np.zeros(0), np.zeros(0))
    pe, se = events(played.onset), events(score.onset)
    n_pe, n_se = int(pe[-1]) + 1, int(se[-1]) + 1
    if n_pe * n_se > MAX_DTW_CELLS:
        raise AlignmentTooLong(
            "recording and score are too long to align (about 10 minutes of notes at most); "
            "give bar times instead"
        )
    cost = 1.0 - _vectors(played.pitch, pe) @ _vectors(score.pitch, se).T
    _, path = librosa.sequence.dtw(C=cost, backtrack=True)
    path = path[::-1]
    p_of = [np.flatnonzero(pe == e) for e in range(n_pe)]
    s_of = [np.flatnonzero(se == e) for e in range(n_se)]
    s_used = np.zeros(n_s, dtype=bool)
    p_used = np.zeros(n_p, dtype=bool)
    pairs: list[tuple[int, int]] = []
    for i, j in path:
        for p in p_of[i]:
            if p_used[p]:
                continue
            for s in s_of[j]:
                if not s_used[s] and score.pitch[s] == played.pitch[p]:
                    s_used[s] = p_used[p] = True
                    pairs.append((int(p), int(s)))
                    break
    arr = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    ap, as_ = _drop_outlier_anchors(*_monotone_anchors(played.onset[arr[:, 0]], score.onset[arr[:, 1]]))
    predicted = map_time(score.onset, as_, ap)
    # the path can slip by an event where the music repeats itself (the same chord bar after bar, a note
    # missing): a pair far from where the smooth time map puts its score note is undone and paired again
    slipped = [k for k, (p, s) in enumerate(pairs) if abs(played.onset[p] - predicted[s]) > REPAIR_TOL_S]
    for k in sorted(slipped, reverse=True):
        p, s = pairs.pop(k)
        s_used[s] = p_used[p] = False
    # second chance: same pitch, where the time map says the note should be
    for s in np.flatnonzero(~s_used):
        cand = np.flatnonzero(
            ~p_used & (played.pitch == score.pitch[s]) & (np.abs(played.onset - predicted[s]) < NEAR_TOL_S)
        )
        if cand.size:
            p = int(cand[np.argmin(np.abs(played.onset[cand] - predicted[s]))])
            s_used[s] = p_used[p] = True
            pairs.append((p, int(s)))
    arr = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
    ap, as_ = _drop_outlier_anchors(*_monotone_anchors(played.onset[arr[:, 0]], score.onset[arr[:, 1]]))
    predicted = map_time(score.onset, as_, ap)
    pairs = _repair_same_key_order(played, score, pairs, predicted, s_used, p_used)
    arr = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
    wrong = _substitutions(
        played, score, path, p_of, s_of, predicted, s_used, p_used, optional, max_wrong_interval
    )
    missed = np.flatnonzero(~s_used & ~optional)
    extra = np.flatnonzero(~p_used)
    return NoteMatch(
        arr,
        np.array(sorted(wrong), dtype=np.int64).reshape(-1, 2),
        missed,
        extra,
        ap,
        as_,
    )
