"""How PASS_COST (scorer.inference.note_assessment) was chosen: restart detection with and without the readier
pass segmentation, on one half of eval/sets/notes_split.json (issue 17).

For every performance of the half and the variants original / restart / start_middle / mixed
(eval.note_faults), the assessment runs at the cautious jump penalty (NoteConfig.jump_penalty) and at half of
it, each alone; the table counts how often the restart count is right and how many errors are reported when
the readier segmentation is taken whenever each further pass removes more than PASS_COST errors.

    python -m eval.note_passes --split tune    # choose PASS_COST here
    python -m eval.note_passes --split check   # report here
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from eval.bench_notes import PERCEPIANO, SPLIT_FILE

KINDS = ("original", "restart", "start_middle", "mixed")
COSTS = (None, 2.0, 3.0, 3.5, 4.0, 6.0)


def rows(split: str, percepiano: Path) -> list[tuple]:
    import scorer.inference.note_assessment as na
    from eval.note_faults import inject, reference
    from scorer.config import NoteConfig
    from scorer.inference.score_input import load_score_file
    from scorer.training.dataset import score_midi_path

    saved, na.PASS_COST = na.PASS_COST, 1e9  # each segmentation alone
    try:
        out = []
        base = NoteConfig()
        for key in json.loads(SPLIT_FILE.read_text())[split]:
            sf = score_midi_path(percepiano, key)
            ref = reference(percepiano / "performance_midi" / f"{key}.mid", sf)
            score = load_score_file(sf)
            for kind in KINDS:
                played, truth = inject(ref, key, kind)
                a = na.assess(played.notes(), score, base)
                b = na.assess(played.notes(), score, replace(base, jump_penalty=base.jump_penalty / 2))
                out.append(
                    (kind, truth.restarts, a.restarts, len(a.note_errors), len(a.passes))
                    + (b.restarts, len(b.note_errors), len(b.passes))
                )
        return out
    finally:
        na.PASS_COST = saved


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.note_passes", description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=("tune", "check"), default="tune")
    ap.add_argument("--percepiano", type=Path, default=PERCEPIANO)
    args = ap.parse_args(argv)
    data = rows(args.split, args.percepiano)
    print(f"{args.split}: {len(data)} cases ({', '.join(KINDS)})\n")
    print("| PASS_COST | restart count right | of which restart variants | errors reported |")
    print("|---|---|---|---|")
    for cost in COSTS:
        right = right_restart = n_restart = errors = 0
        for kind, truth, ar, ae, ap_, br, be, bp in data:
            use_b = cost is not None and bp > ap_ and be + cost * (bp - ap_) < ae
            got = br if use_b else ar
            right += got == truth
            errors += be if use_b else ae
            if kind == "restart":
                n_restart += 1
                right_restart += got == truth
        label = "cautious only" if cost is None else f"{cost:g}"
        print(f"| {label} | {right}/{len(data)} | {right_restart}/{n_restart} | {errors} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
