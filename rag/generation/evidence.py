"""What the scorer found in one recording, in words: the evidence the feedback prompt, the retrieval queries,
the fallback and the tutor chat are built from (issue 18).

- problems: the weak spots, most severe first, one per dimension (at most two): where (times, and bars only
  when a score gave them), why (the dimension's problem in words and the scorer's reason) and, for the
  note-level dimensions of issue 17, examples ("bar 5, beat 2: F4 instead of F#4", "bar 12 at 118% of your
  tempo") taken from ``note_errors`` and ``bars``;
- strength: the most salient strength spot, else the best quality dimension;
- refine: when nothing is weak, the weakest quality dimension (one thing to refine, not an invented problem).

A recording without a score has no bars and no note errors, so nothing here names a bar or a note for it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import median

from rag.generation.dimension_words import (
    NOTE_WORDS,
    grade,
    plain_name,
    quality_by_goodness,
    strongest,
    words_for,
)
from scorer.dimensions import BY_NAME
from scorer.schema import MEASURED, BarReport, NoteError, ScoreReport, Spot

MAX_PROBLEMS = 2
MAX_EXAMPLES = 3


def clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"


def bar_range(bars: Sequence[int]) -> str:
    ordered = sorted(set(bars))
    if not ordered:
        return ""
    return f"bar {ordered[0]}" if len(ordered) == 1 else f"bars {ordered[0]}–{ordered[-1]}"


@dataclass(frozen=True)
class Problem:
    dimension: str
    where: str  # "0:10–0:18 (bars 5–7)"; times only without a score
    what: str  # the problem in a teacher's words: "too much pedal, saturated blurred sound"
    reason: str  # the scorer's own reason for the spot
    examples: tuple[str, ...] = ()  # note-level detail: "bar 5, beat 2: F4 instead of F#4"
    passage_kind: str | None = None  # "a loud passage", "a fast passage" (from the curves)
    bars: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        return plain_name(self.dimension)

    def line(self) -> str:
        """One evidence line for a prompt: what, where, why, examples."""
        kind = f", in {self.passage_kind}" if self.passage_kind else ""
        text = f"{self.name} at {self.where}{kind}: {self.what}"
        if self.dimension in NOTE_WORDS:  # "bars 4–5: 9 wrong notes"; a perceptual reason ("… below the
            text += f"; {self.reason}"  # reference") is scorer jargon the 1.5B model repeated as advice
        elif self.reason.startswith(MEASURED):  # what was measured in the playing: evidence, in plain words
            text += f"; {self.reason.removeprefix(MEASURED)}"
        if self.examples:
            text += " (" + "; ".join(self.examples) + ")"
        return text


@dataclass(frozen=True)
class Evidence:
    problems: tuple[Problem, ...]
    strength: str | None  # "depth of tone (very good), most of all at 0:30–0:40"
    strength_dimension: str | None
    refine: str | None  # the dimension to refine when there is no problem
    has_score: bool
    piece: str | None = None
    composer: str | None = None
    level: str | None = None
    timing: tuple[str, ...] = field(default_factory=tuple)  # rushed / dragged bars, for the tutor chat
    notes: tuple[str, ...] = field(default_factory=tuple)  # note-error summary, for the tutor chat

    @property
    def strong(self) -> bool:
        """No weak spot: feedback gives a strength and one thing to refine."""
        return not self.problems


def _what(dimension: str, score: float) -> str:
    words = words_for(dimension)
    if words is None:
        return plain_name(dimension)
    dim = BY_NAME.get(dimension)
    if dim is None:  # note-level: one problem, no poles
        return words.low.split(";")[0]
    high = dim.desirable == "low" or (dim.desirable != "high" and score >= 0.5)
    return (words.high if high else words.low).split(";")[0]


def _where(spot: Spot, has_score: bool) -> str:
    where = f"{clock(spot.start_s)}–{clock(spot.end_s)}"
    if has_score and spot.bars:
        where += f" ({bar_range(spot.bars)})"
    return where


def _in(time_s: float, spot: Spot) -> bool:
    return spot.start_s - 0.25 <= time_s <= spot.end_s + 0.25


def note_error_text(error: NoteError) -> str:
    at = f"bar {error.bar}" if error.bar is not None else clock(error.time_s)
    if error.beat is not None and error.bar is not None:
        at += f", beat {error.beat:g}"
    return f"{at}: {error.what()}"


def bar_timing_text(bar: BarReport) -> str:
    if bar.tempo_ratio is not None:
        return f"bar {bar.bar} at {round(bar.tempo_ratio * 100)}% of your tempo"
    return f"bar {bar.bar}"


_NOTE_TYPES = {"wrong_notes": "wrong", "missed_notes": "missed", "extra_notes": "extra"}
_BAR_FLAGS = {"rushing": "rushed", "dragging": "dragged", "uneven_chords": "uneven"}


def _examples(report: ScoreReport, spot: Spot) -> tuple[str, ...]:
    """Note-level detail inside the spot, from the note errors and the bar table (only with a score)."""
    bars = set(spot.bars or ())
    if spot.dimension in _NOTE_TYPES and report.note_errors:
        kind = _NOTE_TYPES[spot.dimension]
        errors = [
            e
            for e in report.note_errors
            if e.type == kind and ((e.bar in bars) if bars and e.bar is not None else _in(e.time_s, spot))
        ]
        return tuple(note_error_text(e) for e in errors[:MAX_EXAMPLES])
    if spot.dimension in _BAR_FLAGS and report.bars:
        flag = _BAR_FLAGS[spot.dimension]
        flagged = [
            b for b in report.bars if flag in b.flags and (b.bar in bars if bars else _in(b.start_s, spot))
        ]
        if spot.dimension == "uneven_chords":
            return tuple(f"bar {b.bar}: chord notes not together" for b in flagged[:MAX_EXAMPLES])
        return tuple(bar_timing_text(b) for b in flagged[:MAX_EXAMPLES])
    return ()


def _passage_kind(report: ScoreReport, spot: Spot) -> str | None:
    """'a loud passage' / 'a quiet passage' / 'a fast passage' / 'a slow passage' from the curves, when the
    spot stands out from the whole recording (3 dB, 10 % tempo); None otherwise."""
    curves = report.curves
    if curves is None:
        return None
    kinds = []
    loud = [p.db for p in curves.loudness]
    inside = [p.db for p in curves.loudness if _in(p.time_s, spot)]
    if len(loud) >= 4 and inside:
        diff = median(inside) - median(loud)
        if abs(diff) >= 3.0:
            kinds.append("loud" if diff > 0 else "quiet")
    tempo = [p.bpm for p in curves.tempo if p.bpm > 0]
    inside_t = [p.bpm for p in curves.tempo if p.bpm > 0 and _in(p.time_s, spot)]
    if len(tempo) >= 4 and inside_t:
        ratio = median(inside_t) / median(tempo)
        if abs(ratio - 1) >= 0.10:
            kinds.append("fast" if ratio > 1 else "slow")
    return f"a {' and '.join(kinds)} passage" if kinds else None


def _has_score(report: ScoreReport) -> bool:
    """Bars and notes come only from a score (a spot's bars too: the scorer sets them from the score)."""
    return (
        report.score_following is not None
        or report.bars is not None
        or report.note_errors is not None
        or any(s.bars for s in [*report.weak_spots, *report.strengths])
    )


def problems_of(report: ScoreReport, limit: int = MAX_PROBLEMS) -> list[Problem]:
    """The weak spots as problems: most severe first, one per dimension."""
    has_score = _has_score(report)
    seen: set[str] = set()
    out: list[Problem] = []
    for spot in sorted(report.weak_spots, key=lambda s: -s.severity):
        if spot.dimension in seen:
            continue
        seen.add(spot.dimension)
        out.append(
            Problem(
                dimension=spot.dimension,
                where=_where(spot, has_score),
                what=_what(spot.dimension, spot.score),
                reason=spot.reason,
                examples=_examples(report, spot) if has_score else (),
                passage_kind=_passage_kind(report, spot),
                bars=tuple(spot.bars or ()) if has_score else (),
            )
        )
        if len(out) == limit:
            break
    return out


def _strength(report: ScoreReport, has_score: bool) -> tuple[str | None, str | None]:
    if report.strengths:
        spot = max(report.strengths, key=lambda s: s.severity)
        score = next((d for d in report.dimensions if d.name == spot.dimension), None)
        level = f" ({grade(score)})" if score is not None and score.kind == "quality" else ""
        return (
            f"{plain_name(spot.dimension)}{level}, most of all at {_where(spot, has_score)}: {spot.reason}",
            spot.dimension,
        )
    best = strongest(report)
    if best is None:
        return None, None
    score = next(d for d in quality_by_goodness(report) if d.name == best)
    return f"{plain_name(best)} ({grade(score)}), the best of the quality scores", best


def _timing_lines(report: ScoreReport) -> tuple[str, ...]:
    if not report.bars:
        return ()
    lines = []
    for flag, word in (("rushed", "Rushed"), ("dragged", "Dragged")):
        bars = [b for b in report.bars if flag in b.flags]
        if bars:
            lines.append(f"{word}: " + ", ".join(bar_timing_text(b) for b in bars[:8]))
    uneven = [b.bar for b in report.bars if "uneven" in b.flags]
    if uneven:
        lines.append("Uneven chords: " + ", ".join(f"bar {b}" for b in uneven[:8]))
    return tuple(lines)


def _note_lines(report: ScoreReport) -> tuple[str, ...]:
    if not report.note_errors:
        return ()
    counts = {
        kind: sum(1 for e in report.note_errors if e.type == kind) for kind in ("wrong", "missed", "extra")
    }
    head = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    examples = "; ".join(note_error_text(e) for e in report.note_errors[:6])
    return (f"Note errors: {head} ({examples})",)


def build_evidence(
    report: ScoreReport,
    *,
    piece: str | None = None,
    composer: str | None = None,
    level: str | None = None,
) -> Evidence:
    has_score = _has_score(report)
    problems = problems_of(report)
    strength, strength_dim = _strength(report, has_score)
    refine = None
    if not problems:
        quality = [d.name for d in quality_by_goodness(report) if d.name != strength_dim]
        refine = quality[0] if quality else None
    return Evidence(
        problems=tuple(problems),
        strength=strength,
        strength_dimension=strength_dim,
        refine=refine,
        has_score=has_score,
        piece=piece,
        composer=composer,
        level=level,
        timing=_timing_lines(report),
        notes=_note_lines(report),
    )
