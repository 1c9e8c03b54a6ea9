"""Measures that the feedback is about the playing (issue 18): controlled faults and signal ablation on the
scorer's weak spots, and (with H4's feedback) the copying share.

    python -m eval.feedback_measures split                      # write eval/splits/feedback_measures_split.json
    python -m eval.feedback_measures faults --part check -n 24  # faults named by the weak spots
    python -m eval.feedback_measures ablation --part check -n 12

A performance is a PercePiano performance MIDI (not a rendering of the score; 16-bar Schubert segments are
left out because they repeat 8-bar ones note for note). Its passage is (piece, segment); the TUNE/CHECK
split is by passage (SHA-256 of the passage name), committed before any weak-spot rule was tuned.

"Named": a fault's dimensions (eval.faults.FAULT_DIMENSIONS, fixed before measuring) among the report's weak
spots: ``any`` = any weak spot reported, ``top2`` = the two most severe (the feedback's two main problems).
A fault counts as named in a faulted render when it is named there; as a false alarm when the clean render of
the same performance names it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eval.faults import FAULT_DIMENSIONS, FAULT_DIRECTION, FAULTS, NEEDS_SCORE, inject, load_midi, midi_bytes
from rag.generation.dimension_words import plain_name

SPLIT_FILE = Path(__file__).with_name("splits") / "feedback_measures_split.json"
LABELS = "data/percepiano/labels/label_2round_mean_reg_19_with0_rm_highstd0.json"
_KEY = re.compile(r"^(?P<piece>.+_\d+bars)_(?P<performer>[^_]+)_(?P<segment>\d+)$")


@dataclass(frozen=True)
class Performance:
    key: str  # PercePiano label key
    passage: str  # piece_Nbars_segment

    def midi(self, shared: Path) -> Path:
        return shared / "data/percepiano/performance_midi" / f"{self.key}.mid"

    def score(self, shared: Path) -> Path | None:
        m = _KEY.match(self.key)
        assert m is not None
        path = shared / "data/percepiano/score_midi" / f"{m['piece']}_Score_{m['segment']}.mid"
        return path if path.is_file() else None


def passages(shared: Path) -> dict[str, list[str]]:
    """passage -> its performances' label keys (human performers only, 16-bar segments left out)."""
    labels = json.loads((shared / LABELS).read_text())
    out: dict[str, list[str]] = defaultdict(list)
    for key in sorted(labels):
        m = _KEY.match(key)
        if m is None or m["performer"].startswith("Score") or "_16bars" in m["piece"]:
            continue
        out[f"{m['piece']}_{m['segment']}"].append(key)
    return dict(out)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def make_split(names: Sequence[str]) -> dict[str, list[str]]:
    ordered = sorted(names, key=_hash)
    half = (len(ordered) + 1) // 2
    return {"tune": sorted(ordered[:half]), "check": sorted(ordered[half:])}


def select(shared: Path, part: str, n: int, *, per_passage: int = 1) -> list[Performance]:
    """``n`` performances of the part's passages: passages in hash order, ``per_passage`` performers each
    (in hash order of the key), so that the set is fixed and spread over pieces."""
    split = json.loads(SPLIT_FILE.read_text())[part]
    groups = passages(shared)
    chosen: list[Performance] = []
    for passage in sorted(split, key=_hash):
        keys = sorted(groups.get(passage, []), key=_hash)[:per_passage]
        chosen += [Performance(k, passage) for k in keys]
        if len(chosen) >= n:
            break
    return chosen[:n]


class Judge:
    """Scores a (possibly faulted) performance the way a student's recording is scored: the MIDI rendered with
    fluidsynth and the audio scored (``input="render"``), or the MIDI itself scored (``input="midi"``)."""

    def __init__(self, shared: Path, home: Path, *, input: str = "render", cache: Path | None = None) -> None:
        from api.settings import Settings
        from scorer.inference.service import Scorer

        self.config = Settings(home=home, shared_dir=shared).scorer_config()
        self.scorer = Scorer.load(self.config)
        self.input = input
        self.cache = cache  # reports saved by name: a rerun re-derives the weak spots from the saved scores

    def report(
        self, midi: object, *, score_path: Path | None = None, name: str | None = None, expected: Any = None
    ) -> Any:
        """``expected``: keyword arguments for the weak-spot rules (``find_spots``: ``expected=`` what is
        expected of the passage, ``earlier=`` an earlier take's scores); None = the service's defaults."""
        """The ScoreReport of ``midi``; with a cache and a ``name``, a saved report gets its weak spots and
        strengths recomputed by the current rules from its saved window scores (what the service would give,
        up to the 4-decimal rounding of the saved scores) instead of rendering and scoring again."""
        from scorer.schema import ScoreReport

        path = self.cache / f"{name}|{self.input}.json" if self.cache is not None and name else None
        if path is not None and path.is_file():
            return self.respot(ScoreReport.model_validate_json(path.read_text()), expected)
        report = self._score(midi, score_path)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(report.model_dump_json(by_alias=True))
        return report if expected is None else self.respot(report, expected)

    def respot(self, report: Any, expected: Any = None) -> Any:
        from scorer.dimensions import NAMES
        from scorer.inference.signal_spots import is_signal_spot, merge_signal_spots
        from scorer.inference.spots import find_spots

        windows = np.array([[w.scores[n] for n in NAMES] for w in report.windows])
        overall = np.array([_score(report, n) for n in NAMES])
        spans = [(w.start_s, w.end_s) for w in report.windows]
        weak, strong = find_spots(
            spans,
            windows,
            overall,
            self.rmse,
            self.scorer.reference,
            top_n=self.config.top_n,
            **(expected or {}),
        )
        # measured spots (scorer.inference.signal_spots) need the signal: kept as scored, and they replace the
        # perceptual spots of their dimension as in the service
        weak = merge_signal_spots(weak, [s for s in report.weak_spots if is_signal_spot(s)])
        notes = [s for s in report.weak_spots if s.dimension not in NAMES]  # note-level spots stay as scored
        weak = sorted(weak + notes, key=lambda s: (-s.severity, s.start_s, s.dimension))[: self.config.top_n]
        return report.model_copy(update={"weak_spots": weak, "strengths": strong})

    @property
    def rmse(self) -> np.ndarray:
        return self.scorer._backend.model.heads["audio" if self.input == "render" else "midi"].rmse  # type: ignore[attr-defined]

    def _score(self, midi: object, score_path: Path | None) -> Any:
        from scorer.inference.align import load_score
        from scorer.inference.decode import Decoded
        from scorer.inference.features import FEATURE_SR, notes_from_midi
        from scorer.inference.render import render_midi_bytes

        audio = render_midi_bytes(midi_bytes(midi), self.config.soundfont, sr=FEATURE_SR)
        notes = notes_from_midi(midi) if self.input == "midi" else None
        decoded = Decoded(audio, len(audio) / FEATURE_SR, notes, self.input if notes is not None else "audio")
        score = load_score(score_path) if score_path is not None else None
        return self.scorer.score_decoded(decoded, score=score, score_optional=True)


def weak_dims(report: Any, top: int | None = None) -> list[str]:
    spots = sorted(report.weak_spots, key=lambda s: -s.severity)
    names: list[str] = []
    for s in spots:
        if s.dimension not in names:
            names.append(s.dimension)
    return names[:top] if top else names


def _score(report: Any, name: str) -> float:
    return next(d.score for d in report.dimensions if d.name == name)


def run_faults(
    judge: Judge,
    shared: Path,
    perfs: Sequence[Performance],
    faults: Sequence[str],
    *,
    with_score: bool = False,
    expect: Any = None,
    writer: Any = None,
) -> list[dict]:
    """One row per (performance, fault). ``with_score``: every render is scored with its score MIDI (as a
    student who uploads the score); else only the faults that need it. ``expect``: performance -> the
    expectation passed to the weak-spot rules (None: the population default). ``writer``: report -> the
    feedback text (a FeedbackService's): the row then says whether the text names the fault, clean and faulted."""
    rows = []
    texts: dict[str, str] = {}

    def text_of(name: str, report: Any) -> str:
        if name not in texts:
            texts[name] = writer(report)
        return texts[name]

    for p in perfs:
        midi = load_midi(p.midi(shared))
        score_path = p.score(shared)
        exp = expect(p) if expect is not None else None
        clean: dict[bool, Any] = {}
        for fault in faults:
            use_score = with_score or fault in NEEDS_SCORE
            if use_score and score_path is None:
                continue
            suffix = "|score" if use_score else ""
            clean_name, fault_name = f"{p.key}|clean{suffix}", f"{p.key}|{fault}{suffix}"
            if use_score not in clean:
                clean[use_score] = judge.report(
                    midi, score_path=score_path if use_score else None, name=clean_name, expected=exp
                )
            base = clean[use_score]
            seed = int(_hash(f"{p.key}|{fault}")[:8], 16)
            bad = judge.report(
                inject(midi, fault, seed),
                score_path=score_path if use_score else None,
                name=fault_name,
                expected=exp,
            )
            dims = FAULT_DIMENSIONS[fault]
            row: dict[str, Any] = {
                "key": p.key,
                "fault": fault,
                "clean_weak": weak_dims(base),
                "faulted_weak": weak_dims(bad),
            }
            for top, tag in ((None, "any"), (2, "top2")):
                row[f"named_{tag}"] = bool(dims & set(weak_dims(bad, top)))
                row[f"clean_named_{tag}"] = bool(dims & set(weak_dims(base, top)))
            if writer is not None:  # the feedback the student reads: does it name the fault?
                said, clean_said = text_of(fault_name, bad), text_of(clean_name, base)
                row["text_named"] = names_fault(said, dims)
                row["clean_text_named"] = names_fault(clean_said, dims)
                row["text"], row["clean_text"] = said, clean_said
            if fault in FAULT_DIRECTION:
                dim, sign = FAULT_DIRECTION[fault]
                row["delta"] = round(_score(bad, dim) - _score(base, dim), 4)
                row["moved"] = bool(np.sign(row["delta"]) == sign)
            rows.append(row)
            print(
                json.dumps({k: v for k, v in row.items() if not k.endswith("text")}),
                file=sys.stderr,
                flush=True,
            )
    return rows


def names_fault(text: str, dims: frozenset[str]) -> bool:
    """Does the feedback take up one of ``dims`` as a problem or the thing to refine: a paragraph headed by
    the dimension's name ("Clean pedalling at 0:10–0:18: …", "To refine: … dynamic range")? Mentions
    elsewhere do not count: "dynamic" or "loud" turn up in advice on other problems, and the strength
    paragraph names a dimension to praise it."""
    heads = [
        p.strip().split(":")[0] if not p.strip().startswith("To refine:") else p for p in text.split("\n")
    ]
    heads = [h for h in heads if h and not h.startswith("Strength")]
    return any(plain_name(d).lower() in h.lower() for d in dims for h in heads)


def feedback_writer(index_home: Path, shared: Path) -> tuple[Any, Any]:
    """(report -> feedback text, close): the service's default generation over the index in ``index_home``."""
    from api.settings import Settings
    from rag.generation.feedback import FeedbackService
    from rag.generation.local_llm import LocalLLMServer
    from rag.retrieval.retriever import Retriever

    settings = Settings(home=index_home, shared_dir=shared)
    retriever = Retriever.open(settings.retrieval_config())
    service = FeedbackService(settings.generation_config(), retriever)

    def close() -> None:
        LocalLLMServer.stop_shared()
        retriever.close()

    return (lambda report: service.generate(report).text), close


def summarise_faults(rows: Sequence[dict]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for fault in sorted({r["fault"] for r in rows}) + ["all"]:
        sel = [r for r in rows if fault in ("all", r["fault"])]
        moved = [r["moved"] for r in sel if "moved" in r]
        out[fault] = {
            "n": len(sel),
            "named_any": sum(r["named_any"] for r in sel),
            "clean_named_any": sum(r["clean_named_any"] for r in sel),
            "named_top2": sum(r["named_top2"] for r in sel),
            "clean_named_top2": sum(r["clean_named_top2"] for r in sel),
            "moved": f"{sum(moved)}/{len(moved)}" if moved else "n/a",
        }
        texts = [r for r in sel if "text_named" in r]
        if texts:
            out[fault]["text_named"] = sum(r["text_named"] for r in texts)
            out[fault]["clean_text_named"] = sum(r["clean_text_named"] for r in texts)
    return out


def faults_table(summary: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| fault | n | named (any weak spot) | clean names it (any) | named (top 2) | clean names it (top 2) | moved its dimension |",
        "|---|---|---|---|---|---|---|",
    ]
    for fault, s in summary.items():
        n = max(s["n"], 1)
        lines.append(
            f"| {fault} | {s['n']} | {s['named_any']} ({100 * s['named_any'] / n:.0f}%) | "
            f"{s['clean_named_any']} ({100 * s['clean_named_any'] / n:.0f}%) | "
            f"{s['named_top2']} ({100 * s['named_top2'] / n:.0f}%) | "
            f"{s['clean_named_top2']} ({100 * s['clean_named_top2'] / n:.0f}%) | {s['moved']} |"
        )
    if any("text_named" in s for s in summary.values()):
        lines += [
            "",
            "| fault | n | the feedback text names it | the clean render's text names it |",
            "|---|---|---|---|",
        ]
        for fault, s in summary.items():
            lines.append(
                f"| {fault} | {s['n']} | {s.get('text_named', 0)} | {s.get('clean_text_named', 0)} |"
            )
    return "\n".join(lines)


OTHERS = 2  # other performers of a passage that make its expectation


def others_of(shared: Path, p: Performance, k: int = OTHERS) -> list[str]:
    return [q for q in sorted(passages(shared)[p.passage], key=_hash) if q != p.key][:k]


def clean_scores(judge: Judge, shared: Path, key: str) -> np.ndarray:
    """Whole-recording scores of a performance's clean render (no score), as the service gives them."""
    from scorer.dimensions import NAMES

    report = judge.report(load_midi(Performance(key, "").midi(shared)), name=f"{key}|clean")
    return np.array([_score(report, n) for n in NAMES])


def passage_expect(judge: Judge, shared: Path) -> Any:
    """Performance -> what is expected of its passage: the service's scores of ``OTHERS`` other human
    performers of the passage (rendered and scored the same way), as a service that knows other performances of
    a piece would have it. The performance's own scores never enter its expectation."""
    from scorer.inference.spots import passage_expectation

    def expect(p: Performance) -> Any:
        return {
            "expected": passage_expectation([clean_scores(judge, shared, q) for q in others_of(shared, p)])
        }

    return expect


def earlier_expect(judge: Judge, shared: Path) -> Any:
    """Performance -> an "earlier take" to compare with: the clean render's scores of another human performer of
    the passage (the first of ``others_of``), standing in for the student's own earlier take, which the data
    does not have (another player differs more than a player's own takes do: false alarms are over-counted)."""

    def expect(p: Performance) -> Any:
        return {"earlier": clean_scores(judge, shared, others_of(shared, p, 1)[0])}

    return expect


EXPECTS = {"population": None, "passage": passage_expect, "earlier": earlier_expect}


def build_reference(
    judge: Judge, shared: Path, part: str, per_passage: int, *, cached_only: bool = False
) -> dict[str, Any]:
    """The expectation file (scorer/models/expectation.json) from the service's scores of the clean renders of
    ``per_passage`` performers of every passage of ``part``: population mean and spread, and the spread of one
    performance around the mean of the others of its passage."""
    import math

    from scorer.inference.spots import EXPECTATION_FILE

    split = json.loads(SPLIT_FILE.read_text())[part]
    groups = passages(shared)
    scores: dict[str, list[np.ndarray]] = {}
    for passage in sorted(split, key=_hash):
        keys = sorted(groups[passage], key=_hash)[:per_passage]
        if cached_only:  # only performances already scored into the cache (a slow, shared machine)
            keys = [
                k for k in keys if judge.cache and (judge.cache / f"{k}|clean|{judge.input}.json").is_file()
            ]
        if len(keys) >= 3:
            scores[passage] = [clean_scores(judge, shared, k) for k in keys]
    everyone = np.array([v for vs in scores.values() for v in vs])
    residuals = [
        (v - np.mean(vs[:i] + vs[i + 1 :], axis=0)) / math.sqrt(1 + 1 / (len(vs) - 1))
        for vs in scores.values()
        for i, v in enumerate(vs)
    ]
    data = {
        "source": f"eval/feedback_measures.py reference: the service's scores of fluidsynth renders of "
        f"{len(everyone)} PercePiano performances (3-{per_passage} performers of each of {len(scores)} "
        f"{part.upper()} passages of eval/splits/feedback_measures_split.json), embedded audio head",
        "mean": np.round(everyone.mean(0), 5).tolist(),
        "population_spread": np.round(everyone.std(0), 5).tolist(),
        "passage_spread": np.round(np.asarray(residuals).std(0), 5).tolist(),
    }
    EXPECTATION_FILE.write_text(json.dumps(data, indent=1) + "\n")
    return data


# ---------------------------------------------------------------- signal ablation


def shuffled_spots(
    report: Any, reference: Any, rmse: np.ndarray, seed: int, expected: Any = None
) -> list[str]:
    """Weak-spot dimensions of the same report with its dimension values permuted (the same permutation in
    every window and in the whole-recording scores): the scorer's signal destroyed, its shape kept."""
    from scorer.dimensions import NAMES
    from scorer.inference.spots import find_spots

    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(NAMES))
    while len(NAMES) > 1 and np.any(perm == np.arange(len(NAMES))):
        perm = rng.permutation(len(NAMES))  # a derangement: every dimension gets another's value
    windows = np.array([[w.scores[n] for n in NAMES] for w in report.windows])[:, perm]
    overall = np.array([_score(report, n) for n in NAMES])[perm]
    spans = [(w.start_s, w.end_s) for w in report.windows]
    weak, _ = find_spots(spans, windows, overall, rmse, reference, **(expected or {}))
    return weak_dims(type(report).model_construct(weak_spots=weak))


def run_ablation(
    judge: Judge, shared: Path, perfs: Sequence[Performance], expect: Any = None
) -> dict[str, Any]:
    """Repeat (a saved report against the same MIDI scored again), shuffle, and pairs of performances of one
    passage."""
    from scorer.dimensions import BY_NAME, QUALITY
    from scorer.inference.spots import population_expectation

    rmse = judge.rmse
    gap_unit = population_expectation().spread / 2  # "differ clearly": a population spread apart
    repeat_same = shuffled_differ = 0
    reports = {}
    for p in perfs:
        midi = load_midi(p.midi(shared))
        exp = expect(p) if expect is not None else None
        a = judge.report(midi, name=f"{p.key}|clean", expected=exp)
        b = judge.respot(judge._score(midi, None), exp)  # scored again from the MIDI, nothing reused
        reports[p.key] = a
        same = [s.model_dump() for s in a.weak_spots] == [s.model_dump() for s in b.weak_spots]
        repeat_same += same and [d.score for d in a.dimensions] == [d.score for d in b.dimensions]
        shuffled = shuffled_spots(a, judge.scorer.reference, rmse, int(_hash(p.key)[:8], 16), exp)
        shuffled_differ += set(shuffled) != set(weak_dims(a))
    # pairs: two performers of one passage; a dimension named for one and not the other should be one where the
    # one naming it is worse (lower goodness); and a quality scale on which they differ by a population spread
    # should be named for the worse one only
    by_passage: dict[str, list[str]] = defaultdict(list)
    for p in perfs:
        by_passage[p.passage].append(p.key)
    pairs = agree = differing = 0
    recall_hit = recall_n = 0
    for keys in by_passage.values():
        for i in range(len(keys)):
            for j in range(i + 1, len(keys)):
                ra, rb = reports[keys[i]], reports[keys[j]]
                pairs += 1
                da, db = set(weak_dims(ra)), set(weak_dims(rb))
                for name, namer, other in [(n, ra, rb) for n in da - db] + [(n, rb, ra) for n in db - da]:
                    dim = BY_NAME.get(name)
                    if dim is None or dim.kind != "quality":
                        continue
                    differing += 1
                    gap = dim.goodness(_score(other, name)) - dim.goodness(_score(namer, name))  # type: ignore[operator]
                    agree += gap > 0
                for dim in QUALITY:  # dimensions where the two differ clearly: named for the worse one only?
                    ga, gb = dim.goodness(_score(ra, dim.name)), dim.goodness(_score(rb, dim.name))
                    assert ga is not None and gb is not None
                    if abs(ga - gb) < 2 * float(gap_unit[dim.index]):
                        continue
                    worse, better = (da, db) if ga < gb else (db, da)
                    recall_n += 1
                    recall_hit += dim.name in worse and dim.name not in better
    return {
        "performances": len(perfs),
        "repeat_identical": repeat_same,
        "shuffled_names_different": shuffled_differ,
        "pairs": pairs,
        "pair_differing_quality_dims": differing,
        "pair_named_by_the_worse": agree,
        "pair_clear_gaps": recall_n,
        "pair_clear_gaps_named_for_worse_only": recall_hit,
    }


# ---------------------------------------------------------------- copying

COPIED = 0.8
_TOKEN = re.compile(r"[a-z0-9']+")
_CITE = re.compile(r"\[(\d+)\]")


def longest_common_run(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest run of tokens that ``a`` and ``b`` share, in order and contiguous."""
    best, prev = 0, [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            if x == y:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def copied_share(sentence: str, passages: Sequence[str]) -> float:
    """The longest token run the sentence shares with any of ``passages`` / the sentence's length in tokens."""
    words = _TOKEN.findall(sentence.lower())
    if not words:
        return 0.0
    return max((longest_common_run(words, _TOKEN.findall(p.lower())) for p in passages), default=0) / len(
        words
    )


def passage_text(corpus_dir: Path, citation: dict) -> str:
    """The cited span: chunk ids are '<document id>:<ordinal>', offsets index the document's text file."""
    doc = str(citation["chunk_id"]).rsplit(":", 1)[0]
    for name in (doc, doc.replace("_", "-")):
        path = corpus_dir / f"{name}.txt"
        if path.is_file():
            return path.read_text(encoding="utf-8")[int(citation["char_start"]) : int(citation["char_end"])]
    return ""


def copying(results: Sequence[dict], corpus_dir: Path) -> dict[str, Any]:
    """Share of the model's sentences (eval.feedback_copying.model_sentences: Cadenza's own strength and
    what-and-where lines removed, >= 8 words) that are >= 80% one run of book text: the longest run of tokens
    shared with a passage the sentence cites (all the answer's passages when it cites none), over its length."""
    from eval.feedback_copying import model_sentences

    copied = total = 0
    shares = []
    for result in results:
        by_n = {int(c["n"]): passage_text(corpus_dir, c) for c in result.get("citations", [])}
        for sentence in model_sentences(result["text"]):
            cited = [by_n[int(n)] for n in _CITE.findall(sentence) if int(n) in by_n] or list(by_n.values())
            share = copied_share(_CITE.sub("", sentence), cited)
            shares.append(round(share, 3))
            copied += share >= COPIED
            total += 1
    return {
        "sentences": total,
        "copied": copied,
        "share": round(copied / total, 3) if total else None,
        "shares": shares,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.feedback_measures")
    parser.add_argument("command", choices=["split", "reference", "faults", "ablation", "copying"])
    parser.add_argument("inputs", nargs="*", type=Path, help="copying: JSON files of feedback results")
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared")
    parser.add_argument("--home", type=Path, default=Path("/tmp/cadenza-measures-home"))
    parser.add_argument("--part", choices=["tune", "check"], default="check")
    parser.add_argument("-n", type=int, default=24)
    parser.add_argument("--per-passage", type=int, default=1)
    parser.add_argument("--faults", default=",".join(FAULTS))
    parser.add_argument("--input", choices=["render", "midi"], default="render")
    parser.add_argument(
        "--expect",
        choices=list(EXPECTS),
        default="population",
        help="what the weak-spot rules expect: PercePiano's population (the service's default), the other "
        "performers of the same passage, or an earlier take (another performer's, as a stand-in)",
    )
    parser.add_argument(
        "--cached-only", action="store_true", help="reference: only performances already cached"
    )
    parser.add_argument("--with-score", action="store_true", help="score every render with its score MIDI")
    parser.add_argument(
        "--text",
        type=Path,
        default=None,
        metavar="INDEX_HOME",
        help="faults: also write the feedback (the default LLM, retrieving from the index in INDEX_HOME) and "
        "check that its text names the fault",
    )
    parser.add_argument("--cache", type=Path, default=None, help="saved reports (see Judge.report)")
    parser.add_argument("--out", type=Path, default=None, help="JSON of every row and the summary")
    args = parser.parse_args(argv)
    shared = args.shared.resolve()
    if args.command == "split":
        SPLIT_FILE.parent.mkdir(parents=True, exist_ok=True)
        split = make_split(sorted(passages(shared)))
        SPLIT_FILE.write_text(json.dumps(split, indent=1) + "\n")
        print(f"{SPLIT_FILE}: tune {len(split['tune'])} passages, check {len(split['check'])}")
        return 0
    if args.command == "copying":
        results: list[dict] = []
        for path in args.inputs:
            data = json.loads(path.read_text())
            results += (
                data if isinstance(data, list) else data.get("results", data.get("per_profile", [data]))
            )
        out = copying(results, shared / "corpus" / "texts")
        print(json.dumps({k: v for k, v in out.items() if k != "shares"}))
        if args.out:
            args.out.write_text(json.dumps(out, indent=1) + "\n")
        return 0
    perfs = select(shared, args.part, args.n, per_passage=args.per_passage)
    judge = Judge(shared, args.home, input=args.input, cache=args.cache)
    t0 = time.time()
    if args.command == "reference":
        data = build_reference(judge, shared, args.part, args.per_passage, cached_only=args.cached_only)
        print(json.dumps({k: v for k, v in data.items() if k != "source"}))
        return 0
    if args.command == "faults":
        faults = [f for f in args.faults.split(",") if f]
        unknown = [f for f in faults if f not in FAULTS]
        if unknown:
            print(f"unknown fault(s): {', '.join(unknown)}; known: {', '.join(FAULTS)}", file=sys.stderr)
            return 2
        make = EXPECTS[args.expect]
        expect = make(judge, shared) if make is not None else None
        writer, close = feedback_writer(args.text, shared) if args.text else (None, None)
        try:
            rows = run_faults(
                judge, shared, perfs, faults, with_score=args.with_score, expect=expect, writer=writer
            )
        finally:
            if close is not None:
                close()
        summary = summarise_faults(rows)
        print(faults_table(summary))
        result: dict[str, Any] = {
            "args": vars(args) | {"shared": str(shared)},
            "summary": summary,
            "rows": rows,
        }
    else:
        result = {
            "args": vars(args) | {"shared": str(shared)},
            "ablation": run_ablation(
                judge, shared, perfs, passage_expect(judge, shared) if args.expect == "passage" else None
            ),
        }
        print(json.dumps(result["ablation"], indent=1))
    print(f"{len(perfs)} performances, {time.time() - t0:.0f} s", file=sys.stderr)
    if args.out:
        result["args"] = {k: str(v) for k, v in result["args"].items()}
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
