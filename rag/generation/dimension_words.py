"""How feedback talks about each PercePiano dimension: a plain name, a retrieval topic, and the words that
show an answer addressed it (used by the fallback, the local query builder and `rag-eval feedback`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from scorer.dimensions import BY_NAME, Dimension
from scorer.schema import DimensionScore, ScoreReport


@dataclass(frozen=True)
class Topic:
    plain: str  # what a teacher calls it
    query: str  # pedagogy words for retrieval
    mention: str  # regex: an answer that matches it talks about this dimension


TOPICS: dict[str, Topic] = {
    "timing_stability": Topic("steady timing", "steady time rhythm pulse tempo fluctuation practise slowly with a metronome counting", r"timing|tempo|rhythm|pulse|steady|metronome|count|beat"),
    "articulation_length": Topic("note length", "legato staccato note length articulation touch", r"legato|staccato|articulat|note length"),
    "articulation_touch": Topic("touch", "touch weight of the arm key attack cushioned firm tone", r"touch|attack|weight|key"),
    "pedal_amount": Topic("amount of pedal", "use of the damper pedal how much pedal", r"pedal"),
    "pedal_clarity": Topic("clean pedalling", "pedalling clean blurred harmonies change the pedal syncopated pedal listening", r"pedal|blur|clean|clear"),
    "timbre_variety": Topic("variety of tone colour", "tone colour variety of touch singing tone shading", r"colou?r|tone|timbre|shad|variety"),
    "timbre_depth": Topic("depth of tone", "rich full deep tone weight relaxation quality of tone", r"tone|rich|depth|deep|full|sonor|timbre"),
    "timbre_brightness": Topic("brightness of tone", "bright dark tone colour", r"bright|dark|tone"),
    "timbre_loudness": Topic("loudness", "loud soft tone volume forte piano", r"loud|soft|volume|forte|piano"),
    "dynamic_sophistication": Topic("refined dynamics", "refined dynamics harsh crude tone forcing control of touch gradation", r"dynamic|harsh|crude|forc|refine|control|gradat|crescendo|tone"),
    "dynamic_range": Topic("dynamic range", "dynamic range contrast pianissimo fortissimo crescendo diminuendo gradation of tone", r"dynamic|contrast|pianissimo|fortissimo|crescendo|diminuendo|loud|soft|forte"),
    "tempo": Topic("tempo", "tempo fast slow pace", r"tempo|fast|slow|pace"),
    "space": Topic("sense of space", "phrasing breathing rests space pauses rubato shape of the phrase", r"space|phras|breath|pause|rest|rubato|shape"),
    "balance": Topic("balance between the hands", "balance melody accompaniment voicing hands bring out the melody", r"balanc|melod|voic|accompan|hand|bring out"),
    "drama": Topic("drama", "dramatic expression character", r"drama|express|character"),
    "mood_valence": Topic("mood", "mood character of the piece", r"mood|character|dark|bright"),
    "mood_energy": Topic("energy", "energy vitality", r"energy|vital|lively"),
    "mood_imagination": Topic("imagination", "imagination poetic fancy", r"imagin|poetic|fancy"),
    "interpretation": Topic("interpretation", "interpretation musical conception understanding of the composer phrasing expression", r"interpret|conception|express|phras|composer|musical"),
}


def plain_name(name: str) -> str:
    return TOPICS[name].plain if name in TOPICS else name.replace("_", " ")


def mentions(text: str, name: str) -> bool:
    return bool(re.search(TOPICS[name].mention, text, re.IGNORECASE))


def good_percentile(score: DimensionScore) -> float | None:
    """The scorer's percentile turned toward the desirable pole (100 = better than every reference
    performance). The scorer's own percentile is of the raw score, which grows toward the label's second
    pole: for a low-is-good scale (stable timing, clean pedal, sophisticated dynamics) 7 means good."""
    if score.percentile is None:
        return None
    dim = BY_NAME.get(score.name)
    return 100.0 - score.percentile if dim is not None and dim.desirable == "low" else score.percentile


def grade(score: DimensionScore) -> str:
    """A quality scale's level in words (percentile when the scorer gives one, else goodness)."""
    percentile = good_percentile(score)
    if percentile is not None:
        value, cuts = percentile, ((15, "weak"), (40, "below average"), (60, "average"), (85, "good"))
    else:
        value, cuts = standing(score), ((-0.10, "weak"), (-0.03, "below average"), (0.03, "average"), (0.10, "good"))
    for cut, word in cuts:
        if value < cut:
            return word
    return "very good"


def standing(score: DimensionScore) -> float:
    """How good a quality score is, comparable across dimensions: the percentile toward the desirable pole
    (0-1) when the scorer gives one, else goodness relative to the rating scale's neutral point (ratings 1-7,
    score = rating/7, neutral 4/7), so that low-is-good and high-is-good scales sort fairly against each other."""
    percentile = good_percentile(score)
    if percentile is not None:
        return percentile / 100
    dim = BY_NAME.get(score.name)
    neutral = 4 / 7 if dim is None or dim.desirable != "low" else 3 / 7
    return (score.goodness if score.goodness is not None else neutral) - neutral


def describe(score: DimensionScore) -> str:
    """One dimension in words: quality scales graded, character scales described by their leaning."""
    dim: Dimension | None = BY_NAME.get(score.name)
    if dim is None:
        return f"{score.name}: {score.score:.2f}"
    if dim.kind == "quality":
        return f"{plain_name(dim.name)}: {grade(score)}"
    # PercePiano ratings are 1-7 (score = rating / 7): the scale's middle is 4/7.
    lean = score.score - 4 / 7
    if abs(lean) < 0.05:
        return f"{plain_name(dim.name)}: between {dim.low_pole} and {dim.high_pole}"
    strength = "clearly" if abs(lean) > 0.12 else "somewhat"
    return f"{plain_name(dim.name)}: {strength} {dim.high_pole if lean > 0 else dim.low_pole}"


def quality_by_goodness(report: ScoreReport) -> list[DimensionScore]:
    """Quality dimensions, weakest first (by desirability: see ``standing``)."""
    quality = [d for d in report.dimensions if d.kind == "quality" and d.goodness is not None]
    return sorted(quality, key=lambda d: (standing(d), d.name))


def weakest_two(report: ScoreReport) -> list[str]:
    return [d.name for d in quality_by_goodness(report)[:2]]


def strongest(report: ScoreReport) -> str | None:
    ordered = quality_by_goodness(report)
    return ordered[-1].name if ordered else None


def spots_for(report: ScoreReport, name: str, limit: int = 2) -> str:
    """'0:12–0:20 (bars 5–8)' style time ranges of a dimension's weak spots, most severe first."""
    spots = sorted((s for s in report.weak_spots if s.dimension == name), key=lambda s: -s.severity)[:limit]
    parts = []
    for spot in sorted(spots, key=lambda s: s.start_s):
        where = f"{_clock(spot.start_s)}–{_clock(spot.end_s)}"
        if spot.bars:
            where += f" (bars {spot.bars[0]}–{spot.bars[-1]})" if len(spot.bars) > 1 else f" (bar {spot.bars[0]})"
        parts.append(where)
    return " and ".join(parts)


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"
