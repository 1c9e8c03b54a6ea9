"""From a score report to retrieval queries: each weak dimension becomes a question in the
vocabulary that piano-pedagogy books use (a dimension -> technique vocabulary), plus one query for
the performance as a whole. Piece and composer, when known, are added to the query text (not as
filters: few passages name a composer, and a filter would hide the general advice)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from scorer.dimensions import BY_NAME
from scorer.schema import ScoreReport

# dimension -> (vocabulary when the score sits toward the low pole, toward the high pole)
VOCABULARY: dict[str, tuple[str, str]] = {
    "timing_stability": ("steady rhythm and even tempo, keeping time", "unsteady rhythm, hurrying and dragging the tempo; practise with a steady beat and metronome"),
    "articulation_length": ("notes too short and detached, staccato; how to play legato and connect the notes", "notes held too long, overlapping legato; clean release of keys and crisp staccato"),
    "articulation_touch": ("soft cushioned touch lacking firmness; firm finger attack and weight", "hard, percussive, harsh touch; relaxed arm weight and a singing tone"),
    "pedal_amount": ("dry playing with too little pedal; using the damper pedal for resonance and legato", "too much pedal, saturated blurred sound; pedalling sparingly and changing the pedal with the harmony"),
    "pedal_clarity": ("clean pedalling with the harmony changes", "pedal blurs the harmonies; syncopated pedal changes, clearing the pedal when the harmony changes"),
    "timbre_variety": ("monotonous even tone without colour; varying tone colour and touch", "varied tone colours"),
    "timbre_depth": ("shallow thin tone; producing a full, rich, deep singing tone with arm weight", "rich deep tone"),
    "timbre_brightness": ("bright brilliant tone; softening the tone colour", "dark, veiled tone; brilliance and clarity of tone"),
    "timbre_loudness": ("playing too softly, weak tone; projecting the sound", "playing too loudly, forcing the tone; control of loud playing"),
    "dynamic_sophistication": ("refined, nuanced dynamics and shading", "crude, raw, harsh dynamics; gradation of tone, nuance and shading of crescendo and diminuendo"),
    "dynamic_range": ("little dynamic contrast, everything at one level; widening the range from pianissimo to fortissimo", "wide dynamic range"),
    "tempo": ("tempo too fast, rushing; choosing the right tempo and slow practice", "tempo too slow, dragging; keeping the movement alive"),
    "space": ("flat phrasing without breathing; rubato, pauses and shaping the phrase", "spacious phrasing and breathing between phrases"),
    "balance": ("unbalanced voices: melody not brought out over the accompaniment; voicing and balance between the hands", "well-balanced voicing"),
    "drama": ("plain, restrained expression; more dramatic contrast and expression", "overly dramatic, exaggerated expression; restraint and simplicity"),
    "mood_valence": ("cheerful, bright character of the piece", "dark, sombre character and mood of the piece"),
    "mood_energy": ("low energy, listless playing; vitality, rhythm and drive", "restless, over-energetic playing; calm and control"),
    "mood_imagination": ("literal playing without imagination; poetic imagination and the character of the piece", "fanciful liberties with the text; fidelity to the composer's intention"),
    "interpretation": ("unconvincing interpretation; understanding the composer's meaning, musical conception and phrasing", "convincing interpretation"),
}


# quality dimension -> what a teacher tells a student who is weak on it, in the imperative. Feedback ranks a
# dimension's candidates and picks the sentence it quotes by this, not by the problem's description above:
# "melody not brought out over the accompaniment" is as close to a history of the nocturne's melody as to
# advice, while "play the melody louder than the accompaniment" is close to advice. Written from piano
# teaching, not from the corpus.
ADVICE: dict[str, str] = {
    "timing_stability": "Keep a steady beat: practise slowly with a metronome, count aloud, and do not hurry or drag.",
    "pedal_clarity": "Change the pedal with each new harmony so that the sound does not blur; lift it as the new chord is played and listen to the bass.",
    "timbre_variety": "Vary the tone colour: do not play every note with the same touch, and listen for different shades of tone.",
    "timbre_depth": "For a full, deep, singing tone, let the weight of the relaxed arm sink into the keys instead of striking them.",
    "dynamic_sophistication": "Shade the dynamics gradually and avoid a harsh, forced tone: make each crescendo and diminuendo even, and never hit the keys.",
    "dynamic_range": "Use the whole range of loudness: play a real pianissimo and a full fortissimo, and make the contrast between soft and loud clear.",
    "space": "Let the phrases breathe: shape each phrase, give it room with small pauses and rubato, and do not rush from one phrase into the next.",
    "balance": "Bring out the melody: play the melody louder than the accompaniment and keep the accompaniment soft.",
    "interpretation": "Study what the composer meant: form a clear conception of the whole piece and let every phrase serve it.",
}

class RetrievalQuery(BaseModel):
    dimension: str | None = Field(None, description="The weak dimension this query is about; None for the whole.")
    text: str
    filters: dict[str, str] = Field(default_factory=dict)
    topic: str | None = Field(None, description="What a passage must be about: the dimension's vocabulary without "
                                               "piece or composer (feedback ranks candidates by it).")


def _side(dimension: str, score: float) -> int:
    """0 = the weakness lies toward the low pole, 1 = toward the high pole."""
    dim = BY_NAME[dimension]
    if dim.desirable == "low":
        return 1
    if dim.desirable == "high":
        return 0
    return 1 if score >= 0.5 else 0


def dimension_query(dimension: str, score: float) -> str:
    if dimension not in VOCABULARY:
        raise KeyError(f"unknown dimension {dimension!r}")
    return VOCABULARY[dimension][_side(dimension, score)]


def queries_from_report(report: ScoreReport, *, piece: str | None = None, composer: str | None = None) -> list[RetrievalQuery]:
    """One query per weak dimension (most severe first) and one for the whole performance."""
    context = " ".join(x for x in (composer, piece) if x)
    worst: dict[str, tuple[float, float]] = {}  # dimension -> (severity, score)
    for spot in report.weak_spots:
        if spot.dimension in VOCABULARY and (spot.dimension not in worst or spot.severity > worst[spot.dimension][0]):
            worst[spot.dimension] = (spot.severity, spot.score)
    ordered = sorted(worst.items(), key=lambda kv: -kv[1][0])
    queries = [
        RetrievalQuery(dimension=name, text=(dimension_query(name, score) + (f" ({context})" if context else "")),
                       topic=ADVICE.get(name, dimension_query(name, score)))
        for name, (_, score) in ordered
    ]
    if ordered:
        labels = "; ".join(dimension_query(name, score).split(";")[0] for name, (_, score) in ordered[:3])
        whole = f"piano practice advice: {labels}"
    else:
        whole = "piano practice advice on tone, rhythm, pedalling and musical interpretation"
    if context:
        whole += f" in {context}"
    queries.append(RetrievalQuery(dimension=None, text=whole))
    return queries
