"""Score-to-performance note matchers compared on alignments whose truth is known (issue 17).

Matchers: ``align`` (scorer.inference.align.align, the event DTW the perceptual heads use),
``note_match`` (scorer.inference.note_match.match_notes, the note assessment's: substitution-tolerant
similarity, second-chance pairing), parangonar's ``DualDTWNoteMatcher`` and ``AutomaticNoteMatcher``.

Two truth-known settings per PercePiano performance (first ``--n`` of eval/sets/notes_subset.txt):

- ``self``: the performance is its own score (onsets in beats at 120 bpm), the played side is the same
  performance with injected errors;
- ``synthetic``: the passage's score MIDI is the score; the played side is that score performed with a smooth
  random tempo curve (+-15%), onset jitter (sd 15 ms) and injected errors.

Errors injected (seeded): 5% of the notes a pitch substitution (+-1, +-2 semitones or an octave), 5% deleted,
5% inserted (a pitch 1-4 semitones from a neighbour, between two onsets). Truth: every untouched note's
partner. Reported per matcher: pair precision / recall / F1 (a pair is right when it is a true partner;
substituted notes have none), and the F1 of the unmatched score notes (deleted or substituted) and of the
unmatched played notes (inserted or substituted) — what any error detector starts from.

    python -m eval.note_alignment --n 30 > eval/results/note_alignment.txt
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from scorer.inference.features import Notes, notes_from_midi

PERCEPIANO = Path(__file__).resolve().parents[2] / "shared" / "data" / "percepiano"
SUBSET = Path(__file__).resolve().parent / "sets" / "notes_subset.txt"
RATE = 0.05


def _read(path: Path) -> Notes:
    import pretty_midi

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return notes_from_midi(pretty_midi.PrettyMIDI(str(path)))


def _sorted(on: np.ndarray, off: np.ndarray, pit: np.ndarray, vel: np.ndarray, src: np.ndarray):
    o = np.lexsort((pit, on))
    return Notes(on[o], off[o], pit[o], vel[o], []), src[o]


def inject(score: Notes, on: np.ndarray, rng: np.random.Generator) -> tuple[Notes, np.ndarray]:
    """Played notes from ``score`` laid at onsets ``on`` with substitutions, deletions and insertions.
    Returns the notes and, per played note, its true score partner (-1: none)."""
    n = score.pitch.size
    dur = score.offset - score.onset
    pit = score.pitch.copy()
    src = np.arange(n)
    roles = rng.permutation(n)
    k = max(1, int(RATE * n))
    sub, dele = roles[:k], roles[k : 2 * k]
    deltas = np.array([1, -1, 2, -2, 12, -12])
    pit[sub] = pit[sub] + deltas[np.arange(k) % deltas.size]
    src[sub] = -1
    keep = np.setdiff1d(np.arange(n), dele)
    ins_at = rng.choice(n, k, replace=False)
    ins_on = on[ins_at] + 0.04 + 0.03 * rng.random(k)
    ins_pit = score.pitch[ins_at] + rng.choice([-4, -3, -2, -1, 1, 2, 3, 4], k)
    vel = np.full(n, 64)
    return _sorted(
        np.concatenate([on[keep], ins_on]),
        np.concatenate([on[keep] + dur[keep], ins_on + 0.1]),
        np.concatenate([pit[keep], ins_pit]),
        np.concatenate([vel[keep], np.full(k, 60)]),
        np.concatenate([src[keep], np.full(k, -1)]),
    )


def warp(score: Notes, rng: np.random.Generator) -> np.ndarray:
    """Score onsets performed: a smooth tempo curve (+-15%) and 15 ms jitter."""
    t = score.onset
    grid = np.linspace(t.min(), t.max() + 1e-6, 12)
    speed = np.exp(rng.uniform(-0.15, 0.15, grid.size))
    dt = np.diff(np.concatenate([[t.min()], t]))
    local = np.interp(t, grid, speed)
    return np.cumsum(dt * local) + rng.normal(0, 0.015, t.size)


Matcher = Callable[[Notes, Notes], list[tuple[int, int]]]


def m_align(played: Notes, score: Notes) -> list[tuple[int, int]]:
    from scorer.inference.align import align

    a = align(played, score)
    return list(zip(a.perf_notes.tolist(), a.score_notes.tolist(), strict=True))


def m_note_match(played: Notes, score: Notes) -> list[tuple[int, int]]:
    from scorer.inference.note_match import match_notes

    return [(int(p), int(s)) for p, s in match_notes(played, score).pairs]


def _parangonar(kind: str) -> Matcher:
    def run(played: Notes, score: Notes) -> list[tuple[int, int]]:
        import parangonar as pa

        sna = np.array(
            [
                (
                    o / 0.5,
                    max(d / 0.5, 1e-3),
                    int(round(o * 960)),
                    int(round(max(d, 1e-3) * 960)),
                    p,
                    f"s{i}",
                    False,
                )
                for i, (o, d, p) in enumerate(
                    zip(score.onset, score.offset - score.onset, score.pitch, strict=True)
                )
            ],
            dtype=[
                ("onset_beat", "f4"),
                ("duration_beat", "f4"),
                ("onset_div", "i4"),
                ("duration_div", "i4"),
                ("pitch", "i4"),
                ("id", "U12"),
                ("is_grace", "?"),
            ],
        )
        pna = np.array(
            [
                (o, max(d, 1e-3), p, v, f"p{i}")
                for i, (o, d, p, v) in enumerate(
                    zip(
                        played.onset, played.offset - played.onset, played.pitch, played.velocity, strict=True
                    )
                )
            ],
            dtype=[
                ("onset_sec", "f4"),
                ("duration_sec", "f4"),
                ("pitch", "i4"),
                ("velocity", "i4"),
                ("id", "U12"),
            ],
        )
        matcher = pa.DualDTWNoteMatcher() if kind == "dual" else pa.AutomaticNoteMatcher()
        out = matcher(sna, pna)
        return [
            (int(str(d["performance_id"])[1:]), int(str(d["score_id"])[1:]))
            for d in out
            if d["label"] == "match"
        ]

    return run


MATCHERS: dict[str, Matcher] = {
    "align (event DTW)": m_align,
    "note_match (ours)": m_note_match,
    "parangonar DualDTWNoteMatcher": _parangonar("dual"),
    "parangonar AutomaticNoteMatcher": _parangonar("auto"),
}


def _f1(tp: int, n_pred: int, n_true: int) -> tuple[float, float, float]:
    p = tp / n_pred if n_pred else 1.0
    r = tp / n_true if n_true else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.note_alignment", description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--percepiano", type=Path, default=PERCEPIANO)
    args = ap.parse_args(argv)
    keys = [k.strip() for k in SUBSET.read_text().splitlines() if k.strip() and not k.startswith("#")][
        : args.n
    ]
    tally: dict[tuple[str, str], np.ndarray] = {}
    warm = _read(args.percepiano / "performance_midi" / f"{keys[0]}.mid")
    for fn in MATCHERS.values():  # imports and JIT compilation out of the timings
        fn(warm, warm)
    seconds: dict[str, float] = {}
    for key in keys:
        perf = _read(args.percepiano / "performance_midi" / f"{key}.mid")
        piece, num = key.rsplit("_", 2)[0], key.rsplit("_", 1)[1]
        score_path = args.percepiano / "score_midi" / f"{piece}_Score_{num}.mid"
        settings = {"self": perf}
        if score_path.is_file():
            settings["synthetic"] = _read(score_path)
        for setting, score in settings.items():
            rng = np.random.default_rng(int(hashlib.sha256(f"{key}/{setting}".encode()).hexdigest()[:8], 16))
            on = score.onset.copy() if setting == "self" else warp(score, rng)
            played, truth = inject(score, on, rng)
            true_pairs = {(p, int(s)) for p, s in enumerate(truth) if s >= 0}
            gone_s = set(range(score.pitch.size)) - {s for _, s in true_pairs}
            new_p = {p for p, s in enumerate(truth) if s < 0}
            for name, fn in MATCHERS.items():
                t0 = time.perf_counter()
                pairs = set(fn(played, score))
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - t0
                un_s = set(range(score.pitch.size)) - {s for _, s in pairs}
                un_p = set(range(played.pitch.size)) - {p for p, _ in pairs}
                row = np.array(
                    [
                        len(pairs & true_pairs),
                        len(pairs),
                        len(true_pairs),
                        len(un_s & gone_s),
                        len(un_s),
                        len(gone_s),
                        len(un_p & new_p),
                        len(un_p),
                        len(new_p),
                    ]
                )
                tally[(setting, name)] = tally.get((setting, name), np.zeros(9, dtype=np.int64)) + row
        print(f"{key} done", file=sys.stderr)
    print(
        f"{len(keys)} performances; injected per setting: {RATE:.0%} substitutions, deletions, insertions\n"
    )
    print("| setting | matcher | pair P | pair R | pair F1 | unmatched-score F1 | unmatched-played F1 |")
    print("|---|---|---|---|---|---|---|")
    for (setting, name), r in sorted(tally.items()):
        pp, pr, pf = _f1(int(r[0]), int(r[1]), int(r[2]))
        sf = _f1(int(r[3]), int(r[4]), int(r[5]))[2]
        ef = _f1(int(r[6]), int(r[7]), int(r[8]))[2]
        print(f"| {setting} | {name} | {pp:.3f} | {pr:.3f} | {pf:.3f} | {sf:.3f} | {ef:.3f} |")
    print(
        "\nseconds (all settings, wall, shared 2-core machine): "
        + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items())
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
