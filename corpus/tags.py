"""Tag lexicon: composers, pieces (genres) and techniques, each technique linked to the PercePiano
dimensions it speaks to, so that chunks can be filtered and queries built from weak dimensions."""

from __future__ import annotations

import re
from functools import lru_cache

COMPOSERS: dict[str, tuple[str, ...]] = {
    "bach": ("bach",),
    "handel": ("handel", "händel"),
    "scarlatti": ("scarlatti",),
    "couperin": ("couperin",),
    "rameau": ("rameau",),
    "haydn": ("haydn",),
    "mozart": ("mozart",),
    "clementi": ("clementi",),
    "beethoven": ("beethoven",),
    "schubert": ("schubert",),
    "weber": ("weber",),
    "hummel": ("hummel",),
    "field": ("john field",),
    "czerny": ("czerny",),
    "mendelssohn": ("mendelssohn",),
    "chopin": ("chopin",),
    "schumann": ("schumann",),
    "liszt": ("liszt",),
    "brahms": ("brahms",),
    "grieg": ("grieg",),
    "tchaikovsky": ("tchaikovsky", "tschaikowsky", "tschaikovsky"),
    "rubinstein": ("rubinstein",),
    "debussy": ("debussy",),
    "ravel": ("ravel",),
    "rachmaninoff": ("rachmaninoff", "rachmaninov"),
    "scriabin": ("scriabin", "skriabin"),
    "saint-saens": ("saint-saëns", "saint-saens"),
    "mussorgsky": ("mussorgsky", "moussorgsky"),
    "busoni": ("busoni",),
    "macdowell": ("macdowell", "mac dowell"),
    "paderewski": ("paderewski",),
    "wagner": ("wagner",),
    "berlioz": ("berlioz",),
    "moszkowski": ("moszkowski",),
    "tausig": ("tausig",),
    "thalberg": ("thalberg",),
    "kullak": ("kullak",),
    "cramer": ("cramer",),
}

PIECES: dict[str, tuple[str, ...]] = {
    "sonata": ("sonata", "sonatas"),
    "nocturne": ("nocturne", "nocturnes"),
    "etude": ("etude", "étude", "etudes", "études", "study", "studies"),
    "prelude": ("prelude", "preludes", "prélude"),
    "fugue": ("fugue", "fugues"),
    "ballade": ("ballade", "ballades"),
    "scherzo": ("scherzo", "scherzos", "scherzi"),
    "mazurka": ("mazurka", "mazurkas"),
    "polonaise": ("polonaise", "polonaises"),
    "waltz": ("waltz", "waltzes", "valse"),
    "concerto": ("concerto", "concertos"),
    "variations": ("variations",),
    "rondo": ("rondo", "rondos"),
    "invention": ("invention", "inventions"),
    "impromptu": ("impromptu", "impromptus"),
    "fantasia": ("fantasia", "fantasie", "fantasy"),
    "rhapsody": ("rhapsody", "rhapsodies"),
    "suite": ("suite", "suites"),
    "sonatina": ("sonatina", "sonatinas"),
    "song without words": ("songs without words", "song without words"),
}

# technique -> (patterns, dimensions it informs)
TECHNIQUES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "pedalling": (
        (
            "pedal",
            "pedals",
            "pedalling",
            "pedaling",
            "damper",
            "sostenuto",
            "una corda",
            "soft pedal",
            "blur",
            "blurred",
            "blurring",
        ),
        ("pedal_amount", "pedal_clarity"),
    ),
    "legato": (
        ("legato", "connected", "singing tone", "cantabile", "binding"),
        ("articulation_length", "articulation_touch"),
    ),
    "staccato": (("staccato", "detached", "non legato", "portamento"), ("articulation_length",)),
    "touch": (
        ("touch", "key-attack", "attack", "cushioned", "percussive", "hammer"),
        ("articulation_touch", "dynamic_sophistication", "timbre_depth"),
    ),
    "tone": (
        (
            "tone",
            "tone-colour",
            "tone colour",
            "tone color",
            "colour",
            "color",
            "timbre",
            "resonance",
            "sonority",
            "quality of tone",
        ),
        ("timbre_variety", "timbre_depth", "timbre_brightness"),
    ),
    "dynamics": (
        (
            "dynamics",
            "forte",
            "pianissimo",
            "fortissimo",
            "crescendo",
            "diminuendo",
            "loud",
            "accent",
            "accents",
            "gradation",
            "nuance",
            "shading",
        ),
        ("dynamic_range", "dynamic_sophistication", "timbre_loudness"),
    ),
    "voicing": (
        (
            "voicing",
            "melody",
            "bring out",
            "balance",
            "accompaniment",
            "inner voice",
            "inner voices",
            "subordinate",
            "prominence",
        ),
        ("balance",),
    ),
    "rhythm": (
        (
            "rhythm",
            "rhythmical",
            "rhythmic",
            "beat",
            "pulse",
            "metronome",
            "steadiness",
            "steady",
            "counting",
            "hurrying",
            "dragging",
        ),
        ("timing_stability",),
    ),
    "rubato": (
        (
            "rubato",
            "tempo rubato",
            "ritardando",
            "rallentando",
            "accelerando",
            "agogic",
            "time-swing",
            "elasticity",
        ),
        ("timing_stability", "space", "drama"),
    ),
    "tempo": (
        ("tempo", "speed", "allegro", "adagio", "andante", "presto", "fast", "slow", "pace"),
        ("tempo",),
    ),
    "phrasing": (
        ("phrasing", "phrase", "phrases", "breathing", "punctuation", "shape"),
        ("space", "interpretation", "drama"),
    ),
    "expression": (
        (
            "expression",
            "expressive",
            "feeling",
            "emotion",
            "passion",
            "poetry",
            "poetic",
            "dramatic",
            "imagination",
            "mood",
            "sentiment",
        ),
        ("drama", "mood_valence", "mood_energy", "mood_imagination"),
    ),
    "interpretation": (
        ("interpretation", "conception", "style", "musical sense", "intention", "the composer's"),
        ("interpretation", "mood_imagination"),
    ),
    "relaxation": (
        ("relaxation", "relax", "relaxed", "tension", "stiffness", "stiff", "freedom", "ease"),
        ("articulation_touch", "timbre_depth"),
    ),
    "rotation": (("rotation", "rotary", "fore-arm", "forearm"), ("articulation_touch", "timing_stability")),
    "fingering": (("fingering", "thumb"), ("timing_stability",)),
    "scales and arpeggios": (
        ("scale", "scales", "arpeggio", "arpeggios", "passage-work", "passage work", "velocity"),
        ("timing_stability", "balance"),
    ),
    "octaves and chords": (("octave", "octaves", "chord", "chords"), ("balance", "articulation_touch")),
    "practice": (
        (
            "practice",
            "practise",
            "practising",
            "practicing",
            "exercise",
            "exercises",
            "slow practice",
            "repetition",
        ),
        (),
    ),
    "memorizing": (("memorize", "memorizing", "memorising", "memory", "by heart"), ()),
    "sight-reading": (("sight-reading", "sight reading", "reading at sight", "prima vista"), ()),
    "ornaments": (
        ("trill", "trills", "ornament", "ornaments", "mordent", "turn", "grace note", "grace notes"),
        ("articulation_length",),
    ),
    "performance": (
        ("nervousness", "audience", "stage", "concert", "playing in public", "recital"),
        ("mood_energy", "interpretation"),
    ),
}


def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.I)


@lru_cache(maxsize=1)
def _compiled() -> tuple[dict[str, re.Pattern[str]], dict[str, re.Pattern[str]], dict[str, re.Pattern[str]]]:
    return (
        {k: _pattern(v) for k, v in COMPOSERS.items()},
        {k: _pattern(v) for k, v in PIECES.items()},
        {k: _pattern(v[0]) for k, v in TECHNIQUES.items()},
    )


def tag_text(text: str, *, min_technique_hits: int = 1) -> dict[str, list[str]]:
    """Composers, pieces, techniques mentioned in ``text`` and the dimensions those techniques inform."""
    composers, pieces, techniques = _compiled()
    found_techniques = [k for k, p in techniques.items() if len(p.findall(text)) >= min_technique_hits]
    dimensions = sorted({d for t in found_techniques for d in TECHNIQUES[t][1]})
    return {
        "composers": [k for k, p in composers.items() if p.search(text)],
        "pieces": [k for k, p in pieces.items() if p.search(text)],
        "techniques": found_techniques,
        "dimensions": dimensions,
    }


def dimensions_covered() -> set[str]:
    return {d for _, dims in TECHNIQUES.values() for d in dims}
