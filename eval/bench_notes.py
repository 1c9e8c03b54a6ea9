"""Injected-error detection benchmark of the note-level assessment (issue 17).

    python -m eval.bench_notes --n 120 --input midi --out eval/results/notes_midi.json
    python -m eval.bench_notes --n 40 --input audio --conditions fluidr3 --out ...
    python -m eval.bench_notes --timing          # a 5-minute recording with its score, timed

Performances: eval/sets/notes_subset.txt (PercePiano, up to two performers per passage, fixed hash order),
split by passage into TUNE and CHECK halves before any tuning (eval/sets/notes_split.json). Each performance
and its passage's score MIDI get every variant of eval/note_faults.py (the untouched original, wrong / missed
/ extra notes, a bar 20% faster / slower, a restart, a start in the middle, mixed). The variant is assessed
(scorer.inference.note_assessment.assess) from its MIDI notes (``--input midi``) or from the basic-pitch /
transkun transcription of a fluidsynth render under a recording condition (``--input audio``).

Counting, per error type: a reported error is a true positive when an injected error of that type lies
within ``TOL_S`` with the same pitches (wrong: expected and played; missed: expected; extra: played; a
missed note reported in the injected one's bar within ``MISSED_TOL_S``: its time is interpolated); an
error reported on the variant that the untouched original also gets (same type and pitches, its time
mapped through the variant's time map) is the performer's own (or the detector's standing error) and is
not counted either way; a reported wrong note whose one half (its missed or its extra note) is such an error
of the original and whose other half an injected error is that injected error found (a wrong note is a
missed and an extra note at one place); every other reported error is a false positive (in whichever
variant it occurs).
Bar accuracy: the share of true positives reported in the injected error's bar. Rushed / dragged: a bar
flagged with the injected kind is a true positive; a bar flagged in a variant but not in the original is a
false positive. The rushed / dragged thresholds are chosen on TUNE (grid over ``tempo_ratio``, the flag rule
of note_assessment._tempo_flags re-applied) and reported on CHECK; so is ``uneven_chord_ms`` (re-assessed per
value). Tuning keeps only thresholds that flag at most 5% of the untouched performances' bars.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from eval.note_faults import KINDS, NOTE_KINDS, Truth, inject, map_time, reference

HERE = Path(__file__).parent
SUBSET_FILE = HERE / "sets" / "notes_subset.txt"
SPLIT_FILE = HERE / "sets" / "notes_split.json"
PERCEPIANO = HERE.resolve().parents[1] / "shared" / "data" / "percepiano"
TOL_S = 0.25  # a reported error this close to an injected one (same type and pitches) is it
MISSED_TOL_S = 1.0  # ... for a missed note reported in the same bar
RUSHED_GRID = (1.06, 1.08, 1.1, 1.12, 1.14, 1.16)
DRAGGED_GRID = (0.94, 0.92, 0.9, 0.88, 0.86, 0.84)
UNEVEN_GRID = (30.0, 40.0, 50.0, 60.0, 80.0, 100.0)
MAX_ORIGINAL_FLAGGED = 0.05  # tuning: at most 1 bar in 20 of the untouched performances flagged
GOALS = {"midi_f1": 0.95, "midi_bar": 0.95, "audio_f1": 0.85, "tempo_f1": 0.85, "five_min_s": 60.0}


# --- the subset and its split --------------------------------------------------------------------
def make_subset(percepiano_dir: Path, n: int = 120, per_passage: int = 2) -> list[str]:
    from scorer.training.dataset import load_labels, parse_key, score_midi_path

    by_passage: dict[str, list[str]] = defaultdict(list)
    for key in load_labels(percepiano_dir):
        k = parse_key(key)
        if not k.performer.startswith("Score") and score_midi_path(percepiano_dir, key).is_file():
            by_passage[k.passage].append(key)
    digest = lambda s: hashlib.sha256(f"notes-v1|{s}".encode()).hexdigest()  # noqa: E731
    keys: list[str] = []
    for passage in sorted(by_passage, key=digest):
        keys += sorted(by_passage[passage], key=digest)[:per_passage]
        if len(keys) >= n:
            break
    return keys[:n]


def make_split(keys: list[str]) -> dict[str, list[str]]:
    """Whole passages to TUNE or CHECK (alternating in hash order): no passage's music is in both halves."""
    from scorer.training.dataset import parse_key

    passages = sorted(
        {parse_key(k).passage for k in keys}, key=lambda p: hashlib.sha256(p.encode()).hexdigest()
    )
    tune = set(passages[::2])
    return {
        "tune": [k for k in keys if parse_key(k).passage in tune],
        "check": [k for k in keys if parse_key(k).passage not in tune],
    }


def load_keys(n: int) -> list[str]:
    lines = [s.strip() for s in SUBSET_FILE.read_text().splitlines()]
    return [s for s in lines if s and not s.startswith("#")][:n]


# --- one performance -----------------------------------------------------------------------------
@dataclass
class Case:
    """One variant of one performance: its truth and what the assessment reported."""

    key: str
    kind: str
    truth: Truth
    errors: list[dict[str, Any]]
    bars: list[dict[str, Any]]
    restarts: int
    bars_covered: list[int] | None
    seconds: float
    notes: Any = None  # what was assessed (kept to re-assess at other thresholds; not in the JSON)
    score: Any = None
    midi_errors: list[dict[str, Any]] | None = None  # audio originals: the errors of the take's own MIDI


def _report(result: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    errors = [e.model_dump(by_alias=True) for e in result.note_errors]
    bars = [b.model_dump(by_alias=True) for b in result.bars]
    return errors, bars


class Notes_from:
    """Where the played notes come from: the variant's MIDI, or a transcription of its render (with
    basic-pitch, also the posteriors the assessment checks its claims against, as the service does)."""

    def __init__(self, source: str, condition: str, transcriber: str, threads: int) -> None:
        self.source, self.condition, self.transcriber_name, self.threads = (
            source,
            condition,
            transcriber,
            threads,
        )
        self._cached: Any = None
        self._bp: Any = None
        self.midi_rules = False  # assess a transcription with the MIDI rules (transcribed=False)
        self.evidence = transcriber == "basic-pitch"  # --no-evidence: the rules without posteriors
        self.evidence_for_midi_rules = True  # --no-evidence with --midi-rules: transkun's misses unconfirmed

    def __call__(self, midi_bytes: bytes, played_notes: Any) -> tuple[Any, Any]:
        """(notes, posteriors or None); a transcription less the notes it "heard" in silence, as the service."""
        if self.source == "midi":
            return played_notes, None
        from scorer.inference.features import FEATURE_SR
        from scorer.inference.levels import audible

        notes, evidence, audio = self._transcribed(midi_bytes)
        return audible(notes, audio, FEATURE_SR), evidence

    def _transcribed(self, midi_bytes: bytes) -> tuple[Any, Any, np.ndarray]:
        from eval.bench_transcription import CACHE, VARIANTS, Cached, conditions
        from scorer.inference.render import cached_render

        soundfont, effect = conditions()[self.condition]
        audio = cached_render(midi_bytes, soundfont, CACHE.parent / "render")
        if effect is not None:
            audio = effect(audio)
        if self.evidence and not self.midi_rules:
            return (*self._with_evidence(audio, CACHE / "basic-pitch-evidence"), audio)
        if self._cached is None:
            self._cached = Cached(VARIANTS[self.transcriber_name], self.threads)
        notes, _, _ = self._cached(audio)
        if self.midi_rules and self.evidence_for_midi_rules and self.transcriber_name.startswith("transkun"):
            # as the service: basic-pitch's posteriors of the same audio confirm transkun's missed notes
            return notes, self._with_evidence(audio, CACHE / "basic-pitch-evidence")[1], audio
        return notes, None, audio

    def _with_evidence(self, audio: np.ndarray, cache_dir: Path) -> tuple[Any, Any]:
        """basic-pitch notes and posteriors, cached by audio hash (posteriors as float16)."""
        import pickle

        from scorer.inference.features import FEATURE_SR
        from scorer.inference.note_evidence import Posteriorgram

        key = hashlib.sha256(audio.tobytes()).hexdigest()[:24]
        path = cache_dir / key[:2] / f"{key}.pkl"
        if path.is_file():
            notes, onset, note, times = pickle.loads(path.read_bytes())
            return notes, Posteriorgram(onset.astype(np.float32), note.astype(np.float32), times)
        if self._bp is None:
            from scorer.inference.transcribe import Transcriber

            self._bp = Transcriber(self.threads)
        notes, ev = self._bp.transcribe_with_evidence(audio, FEATURE_SR)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(
            pickle.dumps((notes, ev.onset.astype(np.float16), ev.note.astype(np.float16), ev.times))
        )
        return notes, ev


def run_performance(
    key: str, kinds: Iterable[str], notes_of: Notes_from, percepiano_dir: Path, config: Any
) -> list[Case]:
    from scorer.inference.note_assessment import assess
    from scorer.inference.score_input import load_score_file
    from scorer.training.dataset import score_midi_path

    score_file = score_midi_path(percepiano_dir, key)
    ref = reference(percepiano_dir / "performance_midi" / f"{key}.mid", score_file)
    score = load_score_file(score_file)
    cases = []
    for kind in ("original", *kinds):
        played, truth = inject(ref, key, kind)
        notes, evidence = notes_of(played.midi_bytes(), played.notes())
        start = time.perf_counter()
        # a transcription gets the assessment's audio rules, as the service applies them (unless --midi-rules)
        result = assess(
            notes,
            score,
            config,
            transcribed=notes_of.source == "audio" and not notes_of.midi_rules,
            evidence=evidence,
        )
        seconds = time.perf_counter() - start
        errors, bars = _report(result)
        case = Case(
            key, kind, truth, errors, bars, result.restarts, result.bars_covered, seconds, notes, score
        )
        if kind == "original" and notes_of.source == "audio":
            # what the take's own MIDI shows: an audio error it does not carry is the transcription's
            case.midi_errors, _ = _report(assess(played.notes(), score, config))
        cases.append(case)
    return cases


def false_claims(perfs: list[list[Case]]) -> dict[str, Any]:
    """Audio input: errors reported on the untouched originals that the same takes' MIDI does not carry
    (same type and pitches within TOL_S): claims the transcription invented."""
    reported = invented = with_invented = 0
    by_type: Counter[str] = Counter()
    for cs in perfs:
        original = cs[0]
        if original.midi_errors is None:
            continue
        same = _pair(original.errors, original.midi_errors, [[e["time_s"]] for e in original.midi_errors])
        new = [e for i, e in enumerate(original.errors) if i not in same]
        reported += len(original.errors)
        invented += len(new)
        with_invented += bool(new)
        by_type.update(e["type"] for e in new)
    return {
        "reported": reported,
        "invented": invented,
        "takes_with_invented": with_invented,
        "by_type": dict(by_type),
    }


# --- counting ------------------------------------------------------------------------------------
def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (
        a["type"] == b["type"]
        and (a["type"] == "extra" or a["expected_pitch"] == b["expected_pitch"])
        and (a["type"] == "missed" or a["played_pitch"] == b["played_pitch"])
    )


def _pair(
    reported: list[dict[str, Any]], wanted: list[dict[str, Any]], times: list[list[float]]
) -> dict[int, int]:
    """Greedy nearest pairing (reported index -> wanted index) of same-type-and-pitch errors within TOL_S;
    ``times[j]``: the times at which wanted error j may appear."""
    cands = []
    for i, r in enumerate(reported):
        for j, w in enumerate(wanted):
            if _same(r, w):
                gaps = [abs(r["time_s"] - t) for t in times[j]]
                # a missed note's time is interpolated: in its bar, a second is close enough
                tol = MISSED_TOL_S if r["type"] == "missed" and r.get("bar") == w.get("bar") else TOL_S
                if gaps and min(gaps) <= tol:
                    cands.append((min(gaps), i, j))
    out: dict[int, int] = {}
    used: set[int] = set()
    for _, i, j in sorted(cands):
        if i not in out and j not in used:
            out[i] = j
            used.add(j)
    return out


def _half_own_substitutions(
    reported: list[dict[str, Any]],
    hits: dict[int, int],
    own: dict[int, int],
    counted: list[dict[str, Any]],
    own_errors: list[dict[str, Any]],
    own_times: list[list[float]],
) -> dict[int, int]:
    """Reported wrong notes that are half the performer's own error and half an injected one (reported
    index -> counted index). A wrong note is a missed and an extra note at one place, reported once (issue
    17's contract): where the original already leaves out a note and the variant inserts one beside it, the
    assessment rightly reports one substitution, which pairs with neither the injected extra note nor the
    original's missed one. Its injected half is found; the other half is the performer's (likewise an
    injected missed note beside the original's own extra note)."""
    found = set(hits.values())
    own_used = set(own.values())  # each of the original's errors explains one report
    spare = [i for i, e in enumerate(reported) if e["type"] == "wrong" and i not in hits and i not in own]
    out: dict[int, int] = {}
    for i in spare:
        e = reported[i]
        missed_half = {**e, "type": "missed", "played_pitch": None}
        extra_half = {**e, "type": "extra", "expected_pitch": None}
        for mine, injected in ((missed_half, extra_half), (extra_half, missed_half)):
            free = [k for k in range(len(own_errors)) if k not in own_used]
            mine_hit = _pair([mine], [own_errors[k] for k in free], [own_times[k] for k in free])
            if not mine_hit:
                continue
            left = [j for j in range(len(counted)) if j not in found and j not in out.values()]
            hit = _pair([injected], [counted[j] for j in left], [[counted[j]["time_s"]] for j in left])
            if hit:
                out[i] = left[hit[0]]
                own_used.add(free[mine_hit[0]])
                break
    return out


@dataclass
class Tally:
    tp: Counter[str] = field(default_factory=Counter)
    fp: Counter[str] = field(default_factory=Counter)
    fn: Counter[str] = field(default_factory=Counter)
    own: Counter[str] = field(default_factory=Counter)  # reported on the variant and on the original
    right_bar: Counter[str] = field(default_factory=Counter)
    fp_by_kind: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def prf(self, kind: str | None = None) -> dict[str, float | int]:
        kinds = [kind] if kind else list(NOTE_KINDS)
        tp, fp, fn = (sum(c[k] for k in kinds) for c in (self.tp, self.fp, self.fn))
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        bar = sum(self.right_bar[k] for k in kinds) / tp if tp else 0.0
        return {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r, "f1": f, "right_bar": bar}


def count_notes(cases: list[Case], tally: Tally) -> None:
    """Add one performance's variants (cases[0] is the original) to the tally."""
    original = cases[0]
    for case in cases[1:]:
        # the original's own errors where they land in the variant: twice in a replayed stretch (a restart
        # plays the performer's slip again), not at all where the variant cut it
        own_errors, own_times = [], []
        for e in original.errors:
            for t in map_time(case.truth.time_map, e["time_s"]):
                own_errors.append(e)
                own_times.append([t])
        own = _pair(case.errors, own_errors, own_times)
        truth = case.truth.errors
        # an injected error the original already carries there is not counted either way
        clash = _pair(truth, own_errors, own_times)
        counted = [t for j, t in enumerate(truth) if j not in clash]
        hits = _pair(case.errors, counted, [[t["time_s"]] for t in counted])
        halves = _half_own_substitutions(case.errors, hits, own, counted, own_errors, own_times)
        for i, e in enumerate(case.errors):
            if i in halves:
                half = counted[halves[i]]
                tally.tp[half["type"]] += 1
                tally.right_bar[half["type"]] += int(e["bar"] == half["bar"])
                tally.own["wrong_half"] += 1
            elif i in hits:
                t = counted[hits[i]]
                tally.tp[t["type"]] += 1
                tally.right_bar[t["type"]] += int(e["bar"] == t["bar"])
                if e["bar"] != t["bar"]:
                    tally.examples["wrong_bar"].append(
                        {"key": case.key, "kind": case.kind, "truth": t, "got": e}
                    )
            elif i in own:
                tally.own[e["type"]] += 1
            else:
                tally.fp[e["type"]] += 1
                tally.fp_by_kind[case.kind] += 1
                tally.examples[f"fp_{e['type']}"].append({"key": case.key, "kind": case.kind, "got": e})
        found = set(hits.values()) | set(halves.values())
        for j, t in enumerate(counted):
            if j not in found:
                tally.fn[t["type"]] += 1
                near = [e for e in case.errors if abs(e["time_s"] - t["time_s"]) <= TOL_S]
                tally.examples[f"fn_{t['type']}"].append(
                    {"key": case.key, "kind": case.kind, "truth": t, "near": near}
                )


def flags_at(bars: list[dict[str, Any]], rushed: float, dragged: float) -> set[tuple[int, int, str]]:
    """(bar, pass, flag) by note_assessment._tempo_flags' rule at other thresholds (no dragged in a pass's
    last bar or in its closing ritardando)."""
    from scorer.inference.note_assessment import closing_ritardando

    out: set[tuple[int, int, str]] = set()
    passes: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for b in bars:
        passes[b["pass"]].append(b)
    for number, pass_bars in passes.items():
        known = [b for b in pass_bars if b.get("tempo_ratio") is not None and b.get("tempo_bpm")]
        rit = closing_ritardando([b["tempo_bpm"] for b in known]) if len(known) >= 3 else len(known) - 1
        for n, b in enumerate(known):
            r = b["tempo_ratio"]
            if r >= rushed:
                out.add((b["bar"], number, "rushed"))
            elif r <= dragged and b is not pass_bars[-1] and n <= rit:
                out.add((b["bar"], number, "dragged"))
    return out


def count_tempo(perfs: list[list[Case]], rushed: float, dragged: float) -> dict[str, float | int]:
    """Rushed / dragged bar detection over the rushed and dragged variants."""
    tp = fp = fn = 0
    orig_flagged = orig_bars = 0
    for cases in perfs:
        base = {(b, f) for b, _, f in flags_at(cases[0].bars, rushed, dragged)}
        orig_flagged += len(base)
        orig_bars += len(cases[0].bars)
        for case in cases[1:]:
            if case.kind not in ("rushed", "dragged"):
                continue
            got = {(b, f) for b, _, f in flags_at(case.bars, rushed, dragged)}
            want = {(t["bar"], t["kind"]) for t in case.truth.tempo_bars}
            tp += len(got & want)
            fn += len(want - got)
            fp += len(got - want - base)
    return _prf(tp, fp, fn) | {"original_flagged_share": orig_flagged / orig_bars if orig_bars else 0.0}


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": p,
        "recall": r,
        "f1": 2 * p * r / (p + r) if p + r else 0.0,
    }


_UNEVEN_CACHE: dict[tuple[int, float], set[int]] = {}


def _uneven_bars(case: Case, chord_ms: float | None) -> set[int]:
    """Bars flagged uneven: as reported, or re-assessed with ``uneven_chord_ms=chord_ms`` (cached)."""
    if chord_ms is None:
        return {b["bar"] for b in case.bars if "uneven" in b["flags"]}
    key = (id(case), chord_ms)
    if key not in _UNEVEN_CACHE:
        from scorer.config import NoteConfig
        from scorer.inference.note_assessment import assess

        bars = _report(assess(case.notes, case.score, NoteConfig(uneven_chord_ms=chord_ms)))[1]
        _UNEVEN_CACHE[key] = {b["bar"] for b in bars if "uneven" in b["flags"]}
    return _UNEVEN_CACHE[key]


def count_uneven(perfs: list[list[Case]], chord_ms: float | None = None) -> dict[str, float | int]:
    """Rolled-chord bars found (uneven flag) in the uneven variants; a bar flagged there but not in the
    original is a false positive."""
    tp = fp = fn = 0
    orig_flagged = orig_bars = 0
    for cases in perfs:
        if not any(c.kind == "uneven" for c in cases):
            continue
        base = _uneven_bars(cases[0], chord_ms)
        orig_flagged += len(base)
        orig_bars += len(cases[0].bars)
        for case in cases[1:]:
            if case.kind != "uneven" or not case.truth.tempo_bars:
                continue
            got = _uneven_bars(case, chord_ms)
            want = {t["bar"] for t in case.truth.tempo_bars}
            tp += len(got & want)
            fn += len(want - got)
            fp += len(got - want - base)
    return _prf(tp, fp, fn) | {"original_flagged_share": orig_flagged / orig_bars if orig_bars else 0.0}


def _admissible(stats: dict[str, float | int]) -> bool:
    """A flag the untouched human performances raise in more than MAX_ORIGINAL_FLAGGED of their bars is
    ordinary rubato / asynchrony, not a fault: such thresholds are not chosen (the originals' flags are set
    aside when counting, so without this rule the most sensitive threshold would always win)."""
    return float(stats["original_flagged_share"]) <= MAX_ORIGINAL_FLAGGED


def tune_uneven(perfs: list[list[Case]]) -> tuple[float, float]:
    stats = {ms: count_uneven(perfs, ms) for ms in UNEVEN_GRID}
    ok = [ms for ms in UNEVEN_GRID if _admissible(stats[ms])] or [max(UNEVEN_GRID)]
    best = max(ok, key=lambda ms: (stats[ms]["f1"], -abs(ms - 60.0)))
    return best, float(stats[best]["f1"])


def tune_tempo(perfs: list[list[Case]]) -> tuple[float, float, float]:
    stats = {(r, d): count_tempo(perfs, r, d) for r in RUSHED_GRID for d in DRAGGED_GRID}
    ok = [k for k in stats if _admissible(stats[k])] or [(max(RUSHED_GRID), min(DRAGGED_GRID))]
    r, d = max(ok, key=lambda k: (stats[k]["f1"], -abs(k[0] - 1.12) - abs(k[1] - 0.88)))
    return r, d, float(stats[(r, d)]["f1"])


def structure(perfs: list[list[Case]]) -> dict[str, Any]:
    """Restarts and starts in the middle: detected as such, and how many errors they invent."""
    out: dict[str, Any] = {}
    for kind in ("restart", "start_middle"):
        cases = [c for cs in perfs for c in cs if c.kind == kind]
        if not cases:
            continue
        if kind == "restart":
            ok = sum(c.restarts == 1 for c in cases)
        else:
            ok = sum(bool(c.bars_covered) and c.bars_covered[0] == c.truth.bars_covered[0] for c in cases)  # type: ignore[index]
        out[kind] = {"n": len(cases), "detected": ok}
    originals = [cs[0] for cs in perfs]
    out["original_restarts_reported"] = sum(c.restarts > 0 for c in originals)
    return out


def summarise(
    perfs: list[list[Case]],
    split: dict[str, list[str]],
    rushed: float | None = None,
    dragged: float | None = None,
) -> dict[str, Any]:
    parts = {"all": [cs for cs in perfs]}
    for part in ("tune", "check"):
        keys = set(split.get(part, []))
        parts[part] = [cs for cs in perfs if cs[0].key in keys]
    out: dict[str, Any] = {"n_performances": len(perfs)}
    if rushed is None or dragged is None:
        rushed, dragged, tune_f1 = tune_tempo(parts["tune"] or parts["all"])
        out["tempo_thresholds"] = {
            "rushed_ratio": rushed,
            "dragged_ratio": dragged,
            "tune_f1": tune_f1,
            "tuned_on": "tune",
        }
    else:
        out["tempo_thresholds"] = {"rushed_ratio": rushed, "dragged_ratio": dragged, "tuned_on": "given"}
    from scorer.config import NoteConfig

    default = NoteConfig()
    uneven_ms, uneven_tune_f1 = tune_uneven(parts["tune"] or parts["all"])
    out["uneven_threshold"] = {"uneven_chord_ms": uneven_ms, "tune_f1": uneven_tune_f1}
    tuning = parts["tune"] or parts["all"]
    out["tune_grid"] = {
        "tempo": [
            {"rushed": r, "dragged": d, **count_tempo(tuning, r, d)}
            for r in RUSHED_GRID
            for d in DRAGGED_GRID
        ],
        "uneven": [{"uneven_chord_ms": ms, **count_uneven(tuning, ms)} for ms in UNEVEN_GRID],
    }
    for part, ps in parts.items():
        tally = Tally()
        for cs in ps:
            count_notes(cs, tally)
        out[part] = {
            "n": len(ps),
            "notes": {k: tally.prf(k) for k in NOTE_KINDS} | {"all": tally.prf()},
            "own": dict(tally.own),
            "fp_by_variant": dict(tally.fp_by_kind),
            "tempo_tuned": count_tempo(ps, rushed, dragged),
            "tempo_default": count_tempo(ps, default.rushed_ratio, default.dragged_ratio),
            "uneven_tuned": count_uneven(ps, uneven_ms),
            "uneven_default": count_uneven(ps),
            "structure": structure(ps),
            "original_errors": dict(Counter(e["type"] for cs in ps for e in cs[0].errors)),
            "originals_with_errors": sum(bool(cs[0].errors) for cs in ps),
            "false_claims": false_claims(ps),
        }
        if part == "all":
            out["examples"] = {k: v[:8] for k, v in tally.examples.items()}
    seconds = [c.seconds for cs in perfs for c in cs]
    out["assess_seconds_mean"] = float(np.mean(seconds)) if seconds else 0.0
    return out


def markdown(summary: dict[str, Any], label: str) -> str:
    lines = [f"### {label}", ""]
    th = summary["tempo_thresholds"]
    for part in ("check", "tune", "all"):
        s = summary.get(part)
        if not s or not s["n"]:
            continue
        lines += [
            f"**{part.upper()}** ({s['n']} performances)",
            "",
            "| error type | TP | FP | FN | precision | recall | F1 | right bar |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for k, m in s["notes"].items():
            lines.append(
                f"| {k} | {m['tp']} | {m['fp']} | {m['fn']} | {m['precision']:.3f} | {m['recall']:.3f} | "
                f"{m['f1']:.3f} | {m['right_bar']:.3f} |"
            )
        tt, td = s["tempo_tuned"], s["tempo_default"]
        lines += [
            "",
            f"- rushed/dragged bars (thresholds {th['rushed_ratio']}/{th['dragged_ratio']}, chosen on TUNE): "
            f"F1 {tt['f1']:.3f} (P {tt['precision']:.3f}, R {tt['recall']:.3f}; TP {tt['tp']}, FP {tt['fp']}, FN {tt['fn']}; "
            f"{tt['original_flagged_share']:.1%} of the originals' bars flagged); "
            f"at the current defaults: F1 {td['f1']:.3f} ({td['original_flagged_share']:.1%})",
            f"- uneven (rolled chords) bars (uneven_chord_ms {summary['uneven_threshold']['uneven_chord_ms']:.0f}, "
            f"chosen on TUNE): F1 {s['uneven_tuned']['f1']:.3f} (P {s['uneven_tuned']['precision']:.3f}, "
            f"R {s['uneven_tuned']['recall']:.3f}; {s['uneven_tuned']['original_flagged_share']:.1%} of the originals' "
            f"bars flagged); at the current default: F1 {s['uneven_default']['f1']:.3f} "
            f"({s['uneven_default']['original_flagged_share']:.1%})",
            f"- structure: {json.dumps(s['structure'])}",
            f"- the untouched originals: {s['originals_with_errors']}/{s['n']} with reported errors, "
            f"{json.dumps(s['original_errors'])}; errors on both (performer's own, not counted): {json.dumps(s['own'])}",
            f"- false positives by variant: {json.dumps(s['fp_by_variant'])}",
            *(
                [
                    f"- audio: errors on the untouched renders that their MIDI does not carry: "
                    f"{fc['invented']} of {fc['reported']} reported, in {fc['takes_with_invented']}/{s['n']} takes "
                    f"({json.dumps(fc['by_type'])})"
                ]
                if (fc := s.get("false_claims")) and fc["reported"] + fc["invented"]
                else []
            ),
            "",
        ]
    return "\n".join(lines)


# --- the 5-minute timing -------------------------------------------------------------------------
def five_minutes(percepiano_dir: Path, out_dir: Path, minutes: float = 5.0) -> tuple[Path, Path, float]:
    """A performance of at least ``minutes`` joined from segments of one piece (Schubert D960 mv2, 16-bar
    segments of one performer, cycled) and the score joined from the same segments' score MIDIs."""
    import pretty_midi

    from scorer.inference.decode import parse_midi
    from scorer.training.dataset import score_midi_path

    perf_files = sorted((percepiano_dir / "performance_midi").glob("Schubert_D960_mv2_16bars_9_*.mid"))
    perf = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    score = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    score.time_signature_changes.append(pretty_midi.TimeSignature(3, 4, 0.0))
    p_inst, s_inst = pretty_midi.Instrument(0), pretty_midi.Instrument(0)
    p_t = s_t = 0.0
    for f in perf_files * 3:  # cycled until long enough (the score repeats with it)
        pm, sm = parse_midi(f), parse_midi(score_midi_path(percepiano_dir, f.stem))
        for inst in pm.instruments:
            for n in inst.notes:
                p_inst.notes.append(pretty_midi.Note(n.velocity, n.pitch, n.start + p_t, n.end + p_t))
            for c in inst.control_changes:
                p_inst.control_changes.append(pretty_midi.ControlChange(c.number, c.value, c.time + p_t))
        for inst in sm.instruments:
            for n in inst.notes:
                s_inst.notes.append(pretty_midi.Note(n.velocity, n.pitch, n.start + s_t, n.end + s_t))
        p_t += pm.get_end_time() + 0.5
        downbeats = sm.get_downbeats()
        bar = float(np.median(np.diff(downbeats)))
        s_t += bar * int(np.ceil(sm.get_end_time() / bar - 1e-6))
        if p_t >= minutes * 60:
            break
    perf.instruments.append(p_inst)
    score.instruments.append(s_inst)
    out_dir.mkdir(parents=True, exist_ok=True)
    perf_path, score_path = out_dir / "five_minutes.mid", out_dir / "five_minutes_score.mid"
    perf.write(str(perf_path))
    score.write(str(score_path))
    return perf_path, score_path, p_t


def _cpu_seconds() -> float:
    """User + system CPU of this process (all threads) and its finished children (fluidsynth, ffmpeg)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def time_five_minutes(percepiano_dir: Path, out_dir: Path) -> dict[str, float | str | None]:
    """Wall seconds of the whole analysis (decode, transcription, perceptual heads, note assessment) of a
    5-minute recording with its score, MIDI input and audio (a FluidR3 render written as FLAC) input, and of
    the audio's first ``accurate_max_s`` seconds (``at_limit``: the longest take the auto transcriber gives
    to transkun)."""
    import soundfile as sf

    from api.settings import Settings
    from scorer.inference.render import RENDER_SR, render_midi_bytes
    from scorer.inference.score_input import load_score_file
    from scorer.inference.service import Scorer

    perf_path, score_path, duration = five_minutes(percepiano_dir, out_dir)
    config = Settings().scorer_config()
    scorer = Scorer.load(config)
    score = load_score_file(score_path)
    audio = render_midi_bytes(perf_path.read_bytes(), config.soundfont)
    wav = out_dir / "five_minutes.flac"
    sf.write(str(wav), audio, RENDER_SR)
    at_limit = out_dir / "at_limit.flac"
    sf.write(str(at_limit), audio[: int(config.accurate_max_s * RENDER_SR)], RENDER_SR)
    warm = out_dir / "warm_up.flac"
    sf.write(str(warm), audio[: 10 * RENDER_SR], RENDER_SR)
    scorer.score_path(perf_path, score=score)  # warm-up: the models load on first use
    scorer.score_path(warm, score=score)
    out: dict[str, float | str | None] = {
        "duration_s": len(audio) / RENDER_SR,
        "transcriber": config.transcriber,
        "at_limit_duration_s": min(config.accurate_max_s, len(audio) / RENDER_SR),
    }
    for name, path in (("midi", perf_path), ("audio", wav), ("at_limit", at_limit)):
        start, cpu = time.perf_counter(), _cpu_seconds()
        report = scorer.score_path(path, score=score)
        out[f"{name}_s"] = time.perf_counter() - start
        out[f"{name}_cpu_s"] = _cpu_seconds() - cpu  # all threads and children: the work, whatever the load
        out[f"{name}_note_errors"] = len(report.note_errors or [])
        out[f"{name}_bars"] = len(report.bars or [])
        out[f"{name}_notes_from"] = report.score_following.notes_from if report.score_following else None
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.bench_notes", description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=120, help="performances (first n of eval/sets/notes_subset.txt)")
    ap.add_argument("--input", choices=("midi", "audio"), default="midi")
    ap.add_argument(
        "--conditions", default="fluidr3", help="audio: comma list (eval.bench_transcription.conditions)"
    )
    ap.add_argument("--transcriber", default="basic-pitch", help="audio: basic-pitch or transkun")
    ap.add_argument("--kinds", default=",".join(KINDS), help=f"comma list of {', '.join(KINDS)}")
    ap.add_argument("--keys", default="", help="comma list of performance keys instead of the subset")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--midi-rules",
        action="store_true",
        help="audio: assess the transcription as if it were MIDI (transcribed=False)",
    )
    ap.add_argument(
        "--no-evidence",
        action="store_true",
        help="audio: basic-pitch without its posteriors (the assessment's rules before note_evidence); with "
        "--midi-rules, transkun's missed notes unconfirmed by basic-pitch's posteriors",
    )
    ap.add_argument("--percepiano", type=Path, default=PERCEPIANO)
    ap.add_argument("--timing", action="store_true", help="time a 5-minute recording with its score")
    ap.add_argument("--write-subset", action="store_true", help="(re)write the subset and its split")
    ap.add_argument(
        "--out", type=Path, default=None, help="JSON (summary + every case); the table goes to stdout"
    )
    args = ap.parse_args(argv)
    # arguments first: a wrong one is an error whether or not the data is there
    kinds = [k for k in args.kinds.split(",") if k]
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        print(f"unknown kind: {bad[0]} (one of {', '.join(KINDS)})", file=sys.stderr)
        return 2
    if not args.percepiano.is_dir():
        print(f"PercePiano data not found: {args.percepiano}", file=sys.stderr)
        return 2
    if args.write_subset:
        keys = make_subset(args.percepiano)
        SUBSET_FILE.parent.mkdir(parents=True, exist_ok=True)
        SUBSET_FILE.write_text(
            "# eval.bench_notes performances (make_subset: <=2 per passage, fixed hash order)\n"
            + "\n".join(keys)
            + "\n"
        )
        SPLIT_FILE.write_text(json.dumps(make_split(keys), indent=1) + "\n")
        return 0
    if args.timing:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="cadenza-5min-") as tmp:
            t = time_five_minutes(args.percepiano, Path(tmp))
        print(
            f"5-minute recording ({t['duration_s']:.0f} s) with its score, whole analysis: "
            f"MIDI {t['midi_s']:.1f} s (CPU {t['midi_cpu_s']:.1f} s), audio {t['audio_s']:.1f} s "
            f"(CPU {t['audio_cpu_s']:.1f} s) wall on a shared 2-core machine (goal <= {GOALS['five_min_s']:.0f} s); "
            f"{t['audio_note_errors']} note errors, {t['audio_bars']} bars from audio ({t['audio_notes_from']}); "
            f"its first {t['at_limit_duration_s']:.0f} s (transcriber {t['transcriber']}: "
            f"{t['at_limit_notes_from']}) {t['at_limit_s']:.1f} s (CPU {t['at_limit_cpu_s']:.1f} s)"
        )
        if args.out:
            args.out.write_text(json.dumps(t, indent=1))
        return 0
    keys = args.keys.split(",") if args.keys else load_keys(args.n)
    split = json.loads(SPLIT_FILE.read_text())
    from scorer.config import NoteConfig

    conditions = args.conditions.split(",") if args.input == "audio" else ["midi"]
    results: dict[str, Any] = {}
    for cond in conditions:
        notes_of = Notes_from(args.input, cond, args.transcriber, args.threads)
        notes_of.midi_rules = args.midi_rules
        notes_of.evidence = notes_of.evidence and not args.no_evidence
        notes_of.evidence_for_midi_rules = not args.no_evidence
        perfs = []
        for i, key in enumerate(keys):
            perfs.append(run_performance(key, kinds, notes_of, args.percepiano, NoteConfig()))
            print(f"{cond} {i + 1}/{len(keys)} {key}", file=sys.stderr, flush=True)
        label = f"input {args.input}" + (
            f", {cond}, {args.transcriber}"
            + (", claims checked on its posteriors" if notes_of.evidence else "")
            if args.input == "audio"
            else ""
        )
        summary = summarise(perfs, split)
        print(markdown(summary, label))
        results[cond] = {
            "summary": summary,
            "cases": [
                [
                    {
                        k: v
                        for k, v in c.__dict__.items()
                        if k not in ("truth", "notes", "score", "midi_errors")
                    }
                    | {"truth": c.truth.to_json()}
                    for c in cs
                ]
                for cs in perfs
            ],
        }
    if args.out:
        args.out.write_text(json.dumps(results, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
