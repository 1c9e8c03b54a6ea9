"""Note-level weak spots from the bar reports (issue 17), merged and ranked with the perceptual ones.

One spot per run of consecutive bars (in one pass) that share a problem: wrong / missed / extra notes,
rushed / dragged bars, uneven chords. Severity is on the perceptual spots' 0-1 scale: a note error is
pressing (a listener hears every wrong note), so ``SEVERITY_PER_ERROR`` per error up to 1, with a floor of
``ERROR_FLOOR`` for the first one, scaled by the errors' share of their bars' notes; a run under
``MIN_ERROR_SEVERITY`` (one slip among many notes) is no weak spot, though every error stays in the report's
``note_errors`` (on 60 CHECK originals, which carry the performers' own slips, 46 had a note-error spot
before, 33 after; a bar a semitone off or 20% of the notes off is still named in 60 of 60); a tempo problem grows with its distance from the performer's own tempo
(20% off -> ~0.7); uneven chords are ranked lowest.
Reasons read like "bars 4–5: 9 wrong notes" and "bar 12 rushed: 118% of your tempo".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from scorer.schema import BarReport, Spot

SEVERITY_PER_ERROR = 0.08
ERROR_FLOOR = 0.45
SPLIT_RATIO = 4.0
FULL_SHARE = 0.15  # errors / notated notes of their bars from which the share no longer lowers severity
MIN_ERROR_SEVERITY = 0.3  # a note-error run below this is no weak spot (still in note_errors)
# a wrong note is heard most, a missed one less, an extra (often a brush of a neighbour key) least
_TYPE_WEIGHT = {"wrong_notes": 1.0, "missed_notes": 0.9, "extra_notes": 0.8}
_ERRORS = (
    ("wrong_notes", "wrong", "wrong note"),
    ("missed_notes", "missed", "missed note"),
    ("extra_notes", "extra", "extra note"),
)


def error_severity(dim: str, n: int, expected: int) -> float:
    """Severity of ``n`` errors of one type in a run of bars with ``expected`` notated notes: the count's
    scale (``ERROR_FLOOR`` for one, ``SEVERITY_PER_ERROR`` more per error) times the errors' share of the
    notes, full from ``FULL_SHARE`` on. A single slip among many notes (1 of 20) falls under
    ``MIN_ERROR_SEVERITY``; two errors side by side, or one in a bar of a few notes, are evidence."""
    count = min(1.0, ERROR_FLOOR + SEVERITY_PER_ERROR * (n - 1))
    share = min(1.0, n / max(1, expected) / FULL_SHARE)
    return _TYPE_WEIGHT[dim] * count * share**0.5


def _bars_text(bars: list[int]) -> str:
    return f"bar {bars[0]}" if len(bars) == 1 else f"bars {bars[0]}\u2013{bars[-1]}"


def _runs(reports: list[BarReport], value: Callable[[BarReport], float]) -> list[list[BarReport]]:
    """Runs of consecutive bars (same pass) with value > 0; a run breaks where the count drops or jumps
    more than ``SPLIT_RATIO`` times (68 wrong notes in bars 4-5 and one in bar 6 are two spots)."""
    runs: list[list[BarReport]] = []
    for r in reports:
        v = value(r)
        if v <= 0:
            continue
        if runs:
            last = runs[-1][-1]
            lv = value(last)
            lone = min(v, lv) <= 2 and max(v, lv) > SPLIT_RATIO * min(v, lv)  # a stray error beside many
            if last.pass_ == r.pass_ and last.bar + 1 == r.bar and not lone:
                runs[-1].append(r)
                continue
        runs.append([r])
    return runs


def _count(field: str) -> Callable[[BarReport], float]:
    def value(r: BarReport) -> float:
        return float(getattr(r, field))

    return value


def note_spots(reports: Sequence[BarReport]) -> list[Spot]:
    """Weak spots from the per-bar reports, ranked by severity."""
    reports = list(reports)
    spots: list[Spot] = []
    for dim, field, noun in _ERRORS:
        for run in _runs(reports, _count(field)):
            n = sum(getattr(r, field) for r in run)
            bars = [r.bar for r in run]
            sev = error_severity(dim, n, sum(r.expected for r in run))
            if sev < MIN_ERROR_SEVERITY:  # listed in note_errors, but no evidence for the feedback
                continue
            spots.append(
                Spot(
                    dimension=dim,
                    start_s=run[0].start_s,
                    end_s=run[-1].end_s,
                    score=round(n / max(1, sum(r.expected for r in run)), 3),
                    severity=round(sev, 3),
                    reason=f"{_bars_text(bars)}: {n} {noun}{'s' if n != 1 else ''}",
                    bars=bars,
                )
            )
    for dim, flag, word in (("rushing", "rushed", "rushed"), ("dragging", "dragged", "dragged")):
        for r in reports:
            if flag in r.flags and r.tempo_ratio:
                off = abs(r.tempo_ratio - 1.0)
                spots.append(
                    Spot(
                        dimension=dim,
                        start_s=r.start_s,
                        end_s=r.end_s,
                        score=r.tempo_ratio,
                        severity=round(min(1.0, 0.3 + 2.0 * off), 3),
                        reason=f"bar {r.bar} {word}: {r.tempo_ratio:.0%} of your tempo",
                        bars=[r.bar],
                    )
                )
    for run in _runs(reports, lambda r: float("uneven" in r.flags)):
        bars = [r.bar for r in run]
        spots.append(
            Spot(
                dimension="uneven_chords",
                start_s=run[0].start_s,
                end_s=run[-1].end_s,
                score=0.0,
                severity=0.3,
                reason=f"{_bars_text(bars)}: chord notes not together",
                bars=bars,
            )
        )
    spots.sort(key=lambda s: (-s.severity, s.start_s, s.dimension))
    return spots


def merge_spots(perceptual: Sequence[Spot], notes: Sequence[Spot], top_n: int) -> list[Spot]:
    """Perceptual and note-level weak spots ranked together by severity; at most ``top_n`` of each kind
    so that neither crowds the other out entirely."""
    merged = list(perceptual) + list(notes)[:top_n]
    merged.sort(key=lambda s: (-s.severity, s.start_s, s.dimension))
    return merged
