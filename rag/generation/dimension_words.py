"""How feedback talks about each PercePiano dimension: one table of words per dimension (a plain name,
retrieval vocabulary for each pole, a topic, advice, and the words that show an answer addressed it), and
the scores in words (grades, weakest and strongest dimensions, where the weak spots are)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from scorer.dimensions import BY_NAME, Dimension
from scorer.schema import DimensionScore, ScoreReport


@dataclass(frozen=True)
class DimensionWords:
    """How feedback talks about one dimension. Written from piano teaching, not from the corpus."""

    plain: str  # what a teacher calls it
    # Retrieval vocabulary for a weakness toward the low pole / the high pole of the scale: the words that
    # piano-pedagogy books use for the problem and its remedy (rag/generation/query.py).
    low: str
    high: str
    # Pedagogy words for the dimension alone: its query when the scorer flagged no weak spot for it, and what
    # the fallback's quote must be about.
    topic: str
    mention: str  # regex: an answer that matches it talks about this dimension
    # Quality dimensions: what a teacher tells a student who is weak on it, in the imperative. Feedback ranks a
    # dimension's candidates and picks the sentence it quotes by this, not by the problem's description:
    # "melody not brought out over the accompaniment" is as close to a history of the nocturne's melody as to
    # advice, while "play the melody louder than the accompaniment" is close to advice.
    advice: str | None = None


# The one per-dimension word table (retrieval queries, prompts, fallback and `rag-eval feedback` read it).
DIMENSION_WORDS: dict[str, DimensionWords] = {
    "timing_stability": DimensionWords(
        plain="steady timing",
        low="steady rhythm and even tempo, keeping time",
        high="unsteady rhythm, hurrying and dragging the tempo; practise with a steady beat and metronome",
        topic="steady time rhythm pulse tempo fluctuation practise slowly with a metronome counting",
        mention="timing|tempo|rhythm|pulse|steady|metronome|count|beat",
        advice="Keep a steady beat: practise slowly with a metronome, count aloud, and do not hurry or drag.",
    ),
    "articulation_length": DimensionWords(
        plain="note length",
        low="notes too short and detached, staccato; how to play legato and connect the notes",
        high="notes held too long, overlapping legato; clean release of keys and crisp staccato",
        topic="legato staccato note length articulation touch",
        mention="legato|staccato|articulat|note length",
    ),
    "articulation_touch": DimensionWords(
        plain="touch",
        low="soft cushioned touch lacking firmness; firm finger attack and weight",
        high="hard, percussive, harsh touch; relaxed arm weight and a singing tone",
        topic="touch weight of the arm key attack cushioned firm tone",
        mention="touch|attack|weight|key",
    ),
    "pedal_amount": DimensionWords(
        plain="amount of pedal",
        low="dry playing with too little pedal; using the damper pedal for resonance and legato",
        high="too much pedal, saturated blurred sound; pedalling sparingly and changing the pedal with the harmony",
        topic="use of the damper pedal how much pedal",
        mention="pedal",
    ),
    "pedal_clarity": DimensionWords(
        plain="clean pedalling",
        low="clean pedalling with the harmony changes",
        high="pedal blurs the harmonies; syncopated pedal changes, clearing the pedal when the harmony changes",
        topic="pedalling clean blurred harmonies change the pedal syncopated pedal listening",
        mention="pedal|blur|clean|clear",
        advice="Change the pedal with each new harmony so that the sound does not blur; lift it as the new chord is played and listen to the bass.",
    ),
    "timbre_variety": DimensionWords(
        plain="variety of tone colour",
        low="monotonous even tone without colour; varying tone colour and touch",
        high="varied tone colours",
        topic="tone colour variety of touch singing tone shading",
        mention="colou?r|tone|timbre|shad|variety",
        advice="Vary the tone colour: do not play every note with the same touch, and listen for different shades of tone.",
    ),
    "timbre_depth": DimensionWords(
        plain="depth of tone",
        low="shallow thin tone; producing a full, rich, deep singing tone with arm weight",
        high="rich deep tone",
        topic="rich full deep tone weight relaxation quality of tone",
        mention="tone|rich|depth|deep|full|sonor|timbre",
        advice="For a full, deep, singing tone, let the weight of the relaxed arm sink into the keys instead of striking them.",
    ),
    "timbre_brightness": DimensionWords(
        plain="brightness of tone",
        low="bright brilliant tone; softening the tone colour",
        high="dark, veiled tone; brilliance and clarity of tone",
        topic="bright dark tone colour",
        mention="bright|dark|tone",
    ),
    "timbre_loudness": DimensionWords(
        plain="loudness",
        low="playing too softly, weak tone; projecting the sound",
        high="playing too loudly, forcing the tone; control of loud playing",
        topic="loud soft tone volume forte piano",
        mention="loud|soft|volume|forte|piano",
    ),
    "dynamic_sophistication": DimensionWords(
        plain="refined dynamics",
        low="refined, nuanced dynamics and shading",
        high="crude, raw, harsh dynamics; gradation of tone, nuance and shading of crescendo and diminuendo",
        topic="refined dynamics harsh crude tone forcing control of touch gradation",
        mention="dynamic|harsh|crude|forc|refine|control|gradat|crescendo|tone",
        advice="Shade the dynamics gradually and avoid a harsh, forced tone: make each crescendo and diminuendo even, and never hit the keys.",
    ),
    "dynamic_range": DimensionWords(
        plain="dynamic range",
        low="little dynamic contrast, everything at one level; widening the range from pianissimo to fortissimo",
        high="wide dynamic range",
        topic="dynamic range contrast pianissimo fortissimo crescendo diminuendo gradation of tone",
        mention="dynamic|contrast|pianissimo|fortissimo|crescendo|diminuendo|loud|soft|forte",
        advice="Use the whole range of loudness: play a real pianissimo and a full fortissimo, and make the contrast between soft and loud clear.",
    ),
    "tempo": DimensionWords(
        plain="tempo",
        low="tempo too fast, rushing; choosing the right tempo and slow practice",
        high="tempo too slow, dragging; keeping the movement alive",
        topic="tempo fast slow pace",
        mention="tempo|fast|slow|pace",
    ),
    "space": DimensionWords(
        plain="sense of space",
        low="flat phrasing without breathing; rubato, pauses and shaping the phrase",
        high="spacious phrasing and breathing between phrases",
        topic="phrasing breathing rests space pauses rubato shape of the phrase",
        mention="space|phras|breath|pause|rest|rubato|shape",
        advice="Let the phrases breathe: shape each phrase, give it room with small pauses and rubato, and do not rush from one phrase into the next.",
    ),
    "balance": DimensionWords(
        plain="balance between the hands",
        low="unbalanced voices: melody not brought out over the accompaniment; voicing and balance between the hands",
        high="well-balanced voicing",
        topic="balance melody accompaniment voicing hands bring out the melody",
        mention="balanc|melod|voic|accompan|hand|bring out",
        advice="Bring out the melody: play the melody louder than the accompaniment and keep the accompaniment soft.",
    ),
    "drama": DimensionWords(
        plain="drama",
        low="plain, restrained expression; more dramatic contrast and expression",
        high="overly dramatic, exaggerated expression; restraint and simplicity",
        topic="dramatic expression character",
        mention="drama|express|character",
    ),
    "mood_valence": DimensionWords(
        plain="mood",
        low="cheerful, bright character of the piece",
        high="dark, sombre character and mood of the piece",
        topic="mood character of the piece",
        mention="mood|character|dark|bright",
    ),
    "mood_energy": DimensionWords(
        plain="energy",
        low="low energy, listless playing; vitality, rhythm and drive",
        high="restless, over-energetic playing; calm and control",
        topic="energy vitality",
        mention="energy|vital|lively",
    ),
    "mood_imagination": DimensionWords(
        plain="imagination",
        low="literal playing without imagination; poetic imagination and the character of the piece",
        high="fanciful liberties with the text; fidelity to the composer's intention",
        topic="imagination poetic fancy",
        mention="imagin|poetic|fancy",
    ),
    "interpretation": DimensionWords(
        plain="interpretation",
        low="unconvincing interpretation; understanding the composer's meaning, musical conception and phrasing",
        high="convincing interpretation",
        topic="interpretation musical conception understanding of the composer phrasing expression",
        mention="interpret|conception|express|phras|composer|musical",
        advice="Study what the composer meant: form a clear conception of the whole piece and let every phrase serve it.",
    ),
}


# The note-level spot dimensions of issue 17 (scorer.schema.NOTE_SPOT_DIMENSIONS): not PercePiano scales, so
# kept apart from DIMENSION_WORDS (whose keys are exactly scorer.dimensions); one problem each, no poles
# (``low`` is the problem, ``high`` repeats it).
NOTE_WORDS: dict[str, DimensionWords] = {
    "wrong_notes": DimensionWords(
        plain="wrong notes",
        low="wrong notes; learning the notes accurately with slow, careful practice and reading the score",
        high="wrong notes; learning the notes accurately with slow, careful practice and reading the score",
        topic="wrong notes accuracy slow practice reading the notes fingering",
        mention="wrong note|note|accura|fingering",
        advice="Learn the notes accurately: practise the passage slowly, hands separately, reading every note.",
    ),
    "missed_notes": DimensionWords(
        plain="missed notes",
        low="notes left out; playing every note of the chord and the passage clearly and accurately",
        high="notes left out; playing every note of the chord and the passage clearly and accurately",
        topic="missing notes dropped notes accuracy every note sounds clearly slow practice",
        mention="miss|note|every note|drop",
        advice="Make every note sound: practise slowly and listen that no note of the chord or run is dropped.",
    ),
    "extra_notes": DimensionWords(
        plain="extra notes",
        low="extra notes struck by accident; clean, accurate playing and secure fingering",
        high="extra notes struck by accident; clean, accurate playing and secure fingering",
        topic="accuracy clean playing striking wrong keys secure fingering",
        mention="extra|note|accura|clean|finger",
        advice="Play cleanly: use a fixed fingering and practise slowly so that no neighbouring key is touched.",
    ),
    "rushing": DimensionWords(
        plain="rushing",
        low="hurrying, rushing the tempo; keeping a steady beat with a metronome",
        high="hurrying, rushing the tempo; keeping a steady beat with a metronome",
        topic="hurrying rushing keep time steady beat metronome counting",
        mention="rush|hurr|tempo|beat|metronome|steady|time",
        advice="Do not hurry: practise the bar with a metronome, count aloud, and keep the beat steady.",
    ),
    "dragging": DimensionWords(
        plain="dragging",
        low="dragging, slowing down the tempo; keeping the movement going with a steady beat",
        high="dragging, slowing down the tempo; keeping the movement going with a steady beat",
        topic="dragging slowing down keep time steady beat movement",
        mention="drag|slow|tempo|beat|steady|time",
        advice="Do not drag: keep the beat going through the difficult bars, with a metronome at first.",
    ),
    "uneven_chords": DimensionWords(
        plain="uneven chords",
        low="chord notes not struck together; playing the notes of a chord exactly together",
        high="chord notes not struck together; playing the notes of a chord exactly together",
        topic="chords played together simultaneous notes of a chord hand position",
        mention="chord|together|simultan",
        advice="Play the notes of each chord exactly together: prepare the hand over the keys and drop into the chord.",
    ),
}


def words_for(name: str) -> DimensionWords | None:
    """The word table entry of a PercePiano or a note-level dimension; None for an unknown name."""
    return DIMENSION_WORDS.get(name) or NOTE_WORDS.get(name)


def plain_name(name: str) -> str:
    words = words_for(name)
    return words.plain if words else name.replace("_", " ")


def mentions(text: str, name: str) -> bool:
    words = words_for(name)
    return bool(words and re.search(words.mention, text, re.IGNORECASE))


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
    cuts: tuple[tuple[float, str], ...]
    if percentile is not None:
        value, cuts = percentile, ((15, "weak"), (40, "below average"), (60, "average"), (85, "good"))
    else:
        value, cuts = (
            standing(score),
            ((-0.10, "weak"), (-0.03, "below average"), (0.03, "average"), (0.10, "good")),
        )
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
    """The two quality dimensions the feedback talks about: those the scorer flagged as weak spots first (most
    severe first: the spots judge against what this kind of passage needs), then the lowest by standing."""
    quality = {d.name for d in report.dimensions if d.kind == "quality" and d.goodness is not None}
    flagged: list[str] = []
    for spot in sorted(report.weak_spots, key=lambda s: -s.severity):
        if spot.dimension in quality and spot.dimension not in flagged:
            flagged.append(spot.dimension)
    rest = [d.name for d in quality_by_goodness(report) if d.name not in flagged]
    return (flagged + rest)[:2]


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
            where += (
                f" (bars {spot.bars[0]}–{spot.bars[-1]})" if len(spot.bars) > 1 else f" (bar {spot.bars[0]})"
            )
        parts.append(where)
    return " and ".join(parts)


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"
