"""The PercePiano part of the preference test: weak and strong performers of the same five 8-bar passages
(the pair with the widest gap in PercePiano's "interpretation" rating per piece, human performers only),
scored from fluidsynth renders of their MIDI with the score MIDI given.

    CADENZA_HOME=... python -m api.cli score --json --score SCORE.mid PERF.mid > renders/KEY.json   (per item)
    python eval/preference/make_render_items.py RENDERS_DIR eval/preference/render_items.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# key, piece, composer, PercePiano interpretation rating (mean of 1–7 ratings / 7), role in the pair
RENDERS = [
    (
        "Beethoven_WoO80_var8_8bars_1_6",
        "32 Variations in C minor, WoO 80, var. 8",
        "Beethoven",
        0.381,
        "weak",
    ),
    (
        "Beethoven_WoO80_var8_8bars_2_6",
        "32 Variations in C minor, WoO 80, var. 8",
        "Beethoven",
        0.886,
        "strong",
    ),
    (
        "Beethoven_WoO80_var9_8bars_14_7",
        "32 Variations in C minor, WoO 80, var. 9",
        "Beethoven",
        0.357,
        "weak",
    ),
    (
        "Beethoven_WoO80_var9_8bars_24_7",
        "32 Variations in C minor, WoO 80, var. 9",
        "Beethoven",
        0.810,
        "strong",
    ),
    (
        "Beethoven_WoO80_var25_8bars_26_14",
        "32 Variations in C minor, WoO 80, var. 25",
        "Beethoven",
        0.457,
        "weak",
    ),
    (
        "Beethoven_WoO80_var25_8bars_14_14",
        "32 Variations in C minor, WoO 80, var. 25",
        "Beethoven",
        0.857,
        "strong",
    ),
    (
        "Schubert_D960_mv2_8bars_8_08",
        "Piano Sonata in B-flat major, D. 960, II. Andante sostenuto",
        "Schubert",
        0.408,
        "weak",
    ),
    (
        "Schubert_D960_mv2_8bars_5_08",
        "Piano Sonata in B-flat major, D. 960, II. Andante sostenuto",
        "Schubert",
        0.790,
        "strong",
    ),
    (
        "Schubert_D960_mv3_8bars_4_23",
        "Piano Sonata in B-flat major, D. 960, III. Scherzo",
        "Schubert",
        0.407,
        "weak",
    ),
    (
        "Schubert_D960_mv3_8bars_2_23",
        "Piano Sonata in B-flat major, D. 960, III. Scherzo",
        "Schubert",
        0.756,
        "strong",
    ),
]


def main(argv: list[str]) -> int:
    renders, out = Path(argv[0]), Path(argv[1])
    lines = []
    for key, piece, composer, rating, role in RENDERS:
        report = json.loads((renders / f"{key}.json").read_text(encoding="utf-8"))
        row = {"id": key, "piece": piece, "composer": composer, "level": None, "report": report}
        row["percepiano"] = {"interpretation": rating, "role": role}
        lines.append(json.dumps(row, ensure_ascii=False))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
