"""Agreement of grounding checks with the blind hand labels (eval/grounding/labels.jsonl).

    # 1. the LLM judge's probability of "yes" for every pair (slow: run once per model, nice'd, 1 thread)
    python -m eval.grounding.agreement judge --gguf ~/.cache/cadenza/models/X.gguf --out eval/grounding/judge_X.jsonl
    # 2. tune thresholds on TUNE, report accuracy and Cohen's kappa on CHECK for every check
    python -m eval.grounding.agreement report --judge eval/grounding/judge_X.jsonl --json eval/results/grounding.json

Checks compared: the committed MiniLM cosine (threshold 0.5576, tuned earlier on other pairs), the cosine
re-tuned on TUNE, the cheap signals alone (garble, content overlap, cosine), the LLM judge alone, and the
combined stricter check (rag.generation.grounding.StrictCheck). Thresholds are chosen on TUNE only."""

from __future__ import annotations

import argparse
import itertools
import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).parent
CORPUS = HERE.parents[2] / "shared" / "corpus" / "texts"
LEGACY = HERE.parent / "grounding_pairs.jsonl"


@dataclass(frozen=True)
class LabelledPair:
    id: str
    split: str
    origin: str
    sentence: str
    passage: str
    supported: bool


def load(corpus: Path = CORPUS, here: Path = HERE, *, legacy: bool = False) -> list[LabelledPair]:
    labels = {}
    for line in (here / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        labels[row["id"]] = bool(row["supported"])
    texts: dict[str, str] = {}
    out = []
    for line in (here / "pairs.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["slug"] not in texts:
            texts[row["slug"]] = (corpus / f"{row['slug']}.txt").read_text(encoding="utf-8")
        passage = " ".join(texts[row["slug"]][row["char_start"] : row["char_end"]].split())
        out.append(
            LabelledPair(row["id"], row["split"], row["origin"], row["sentence"], passage, labels[row["id"]])
        )
    if legacy and LEGACY.exists():
        # the 47 hand-labelled pairs of the earlier grounding work (eval/grounding_pairs.jsonl): TUNE only
        for i, line in enumerate(LEGACY.read_text(encoding="utf-8").splitlines()):
            row = json.loads(line)
            if row["slug"] not in texts:
                texts[row["slug"]] = (corpus / f"{row['slug']}.txt").read_text(encoding="utf-8")
            passage = " ".join(texts[row["slug"]][row["char_start"] : row["char_end"]].split())
            out.append(
                LabelledPair(f"legacy{i:02d}", "tune", "legacy", row["sentence"], passage, row["supported"])
            )
    return out


def kappa(pred: list[bool], gold: list[bool]) -> float:
    """Cohen's kappa of two binary raters."""
    n = len(gold)
    po = sum(p == g for p, g in zip(pred, gold, strict=True)) / n
    p_yes = (sum(pred) / n) * (sum(gold) / n)
    p_no = (1 - sum(pred) / n) * (1 - sum(gold) / n)
    pe = p_yes + p_no
    return (po - pe) / (1 - pe) if pe < 1 else 1.0


def scores(pred: list[bool], gold: list[bool], seed: int = 18, n_boot: int = 2000) -> dict:
    n = len(gold)
    acc = sum(p == g for p, g in zip(pred, gold, strict=True)) / n
    rng = random.Random(seed)
    boot_acc, boot_kappa = [], []
    for _ in range(n_boot):
        idx = [rng.randrange(n) for _ in range(n)]
        p = [pred[i] for i in idx]
        g = [gold[i] for i in idx]
        boot_acc.append(sum(a == b for a, b in zip(p, g, strict=True)) / n)
        boot_kappa.append(kappa(p, g))
    boot_acc.sort()
    boot_kappa.sort()
    lo, hi = int(0.025 * n_boot), int(0.975 * n_boot) - 1
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    tn = n - tp - fp - fn
    return {
        "n": n,
        "accuracy": round(acc, 3),
        "accuracy_ci95": [round(boot_acc[lo], 3), round(boot_acc[hi], 3)],
        "kappa": round(kappa(pred, gold), 3),
        "kappa_ci95": [round(boot_kappa[lo], 3), round(boot_kappa[hi], 3)],
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "marked_supported": round((tp + fp) / n, 3),
    }


def cmd_judge(args: argparse.Namespace) -> None:
    from rag.generation.grounding import LlmJudge

    pairs = load()
    if args.only_check_ids:
        pairs = [p for p in pairs if p.id in set(args.only_check_ids.split(","))]
    done = set()
    if args.out.exists():
        done = {json.loads(x)["id"] for x in args.out.read_text(encoding="utf-8").splitlines() if x}
    judge = LlmJudge(str(args.gguf.expanduser()), n_threads=args.threads)
    # a seeded random order, CHECK first: on this shared 2-core machine a run may be stopped part way, and
    # what it judged is then a random sample of CHECK (the system prompt's KV cache is reused either way)
    todo = [p for p in pairs if p.id not in done]
    random.Random(18).shuffle(todo)
    todo.sort(key=lambda p: p.split != "check")
    with args.out.open("a", encoding="utf-8") as out:
        for p in todo:
            t = time.perf_counter()
            prob = judge.p_yes(p.sentence, p.passage)
            out.write(
                json.dumps({"id": p.id, "p_yes": round(prob, 4), "s": round(time.perf_counter() - t, 2)})
                + "\n"
            )
            out.flush()
    judge.close()


def _grid_best(rows: list, decide, grid: dict) -> tuple[dict, float]:
    """The parameters with the best accuracy on ``rows``; among ties the one nearest the ties' per-parameter
    median (a small TUNE set leaves wide plateaus, and their edge is the least robust choice)."""
    keys = list(grid)
    results = []
    for values in itertools.product(*(grid[k] for k in keys)):
        params = dict(zip(keys, values, strict=True))
        results.append((sum(decide(r, params) == r[0].supported for r in rows) / len(rows), values))
    best_acc = max(a for a, _ in results)
    tied = [v for a, v in results if a >= best_acc - 1e-9]
    median = [sorted(v[i] for v in tied)[len(tied) // 2] for i in range(len(keys))]
    span = [max(max(grid[k]) - min(grid[k]), 1e-9) for k in keys]
    chosen = min(tied, key=lambda v: sum(abs(a - m) / s for a, m, s in zip(v, median, span, strict=True)))
    return dict(zip(keys, chosen, strict=True)), best_acc


def cmd_report(args: argparse.Namespace) -> None:
    from rag.generation.config import GROUNDING_THRESHOLD
    from rag.generation.grounding import StrictCheck, signals, support_scores

    pairs = load(legacy=not args.no_legacy)
    old = support_scores([(p.sentence, p.passage) for p in pairs])
    sigs = signals([(p.sentence, p.passage) for p in pairs])
    judges = {}
    for path in args.judge or []:
        rows = [json.loads(x) for x in Path(path).read_text(encoding="utf-8").splitlines() if x]
        judges[Path(path).stem] = {r["id"]: r["p_yes"] for r in rows}
    rows = [(p, o, s) for p, o, s in zip(pairs, old, sigs, strict=True)]
    tune = [r for r in rows if r[0].split == "tune"]
    check = [r for r in rows if r[0].split == "check"]
    steps = [round(0.05 * i, 2) for i in range(21)]
    cos_steps = [round(0.3 + 0.02 * i, 2) for i in range(26)]
    systems: dict[str, dict] = {}

    def add(name: str, decide, params: dict, note: str) -> None:
        systems[name] = {
            "params": params,
            "note": note,
            "tune": scores([decide(r, params) for r in tune], [r[0].supported for r in tune]),
            "check": scores([decide(r, params) for r in check], [r[0].supported for r in check]),
            "check_by_origin": _by_origin(check, lambda r: decide(r, params)),
        }

    add("cosine_committed", lambda r, p: r[1] >= p["t"], {"t": GROUNDING_THRESHOLD}, "today's check")
    params, _ = _grid_best(tune, lambda r, p: r[1] >= p["t"], {"t": cos_steps})
    add("cosine_retuned", lambda r, p: r[1] >= p["t"], params, "MiniLM cosine, threshold tuned on TUNE")

    def cheap(r, p):
        return StrictCheck(p["max_garble"], p["min_overlap"], p["min_cosine"]).decide(r[2])

    grid = {"max_garble": [0.3, 0.5, 0.7, 1.01], "min_overlap": steps[:17], "min_cosine": cos_steps}
    params, _ = _grid_best(tune, cheap, grid)
    add("cheap_signals", cheap, params, "garble + content overlap + claim cosine, no LLM")
    for name, probs in judges.items():
        if not all(r[0].id in probs for r in rows):
            systems.update(_partial_judge(name, probs, check))
            continue

        def alone(r, p, probs=probs):
            return probs[r[0].id] >= p["min_p_yes"]

        params, _ = _grid_best(tune, alone, {"min_p_yes": steps})
        add(f"{name}_alone", alone, params, "LLM judge alone")

        def combined(r, p, probs=probs):
            check = StrictCheck(p["max_garble"], p["min_overlap"], min_p_yes=p["min_p_yes"])
            return check.decide(r[2], probs[r[0].id])

        grid = {"max_garble": [0.3, 0.5, 0.7, 1.01], "min_overlap": steps[:17], "min_p_yes": steps}
        params, _ = _grid_best(tune, combined, grid)
        add(f"{name}_strict", combined, params, "garble + overlap gates, then the LLM judge")
    result = {
        "pairs": len(rows),
        "check_pairs": len(check),
        "tune_pairs": len(tune),
        "check_supported": sum(r[0].supported for r in check),
        "systems": systems,
        "per_pair": [
            {
                "id": r[0].id,
                "split": r[0].split,
                "origin": r[0].origin,
                "label": r[0].supported,
                "cosine": round(r[1], 4),
                **{k: round(v, 4) for k, v in asdict(r[2]).items() if k != "cosine"},
                "claim_cosine": round(r[2].cosine, 4),
                **{f"p_yes_{n}": probs.get(r[0].id) for n, probs in judges.items()},
            }
            for r in rows
        ],
    }
    summary = {k: {"params": v["params"], "check": v["check"]} for k, v in systems.items()}
    if args.no_per_pair:
        result.pop("per_pair")
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _partial_judge(name: str, probs: dict[str, float], check: list) -> dict[str, dict]:
    """A judge run stopped part way (shared machine): its CHECK pairs are a seeded random sample of CHECK.
    No TUNE pairs were judged, so nothing is tuned: p(yes) >= 0.5 (the judge's own answer), and the cheap
    gates keep their TUNE values. Every check is scored on the same judged subset for comparison."""
    from rag.generation.config import GROUNDING_THRESHOLD
    from rag.generation.grounding import StrictCheck

    subset = [r for r in check if r[0].id in probs]
    if not subset:
        return {}
    gold = [r[0].supported for r in subset]
    strict = StrictCheck()
    decisions = {
        "cosine_committed": [r[1] >= GROUNDING_THRESHOLD for r in subset],
        "cheap_signals": [strict.decide(r[2]) for r in subset],
        f"{name}_alone": [probs[r[0].id] >= 0.5 for r in subset],
        f"{name}_strict": [strict.decide(r[2], probs[r[0].id]) for r in subset],
    }
    note = (
        f"partial run: {len(subset)} of {len(check)} CHECK pairs judged (seeded random order), p_yes >= 0.5"
    )
    return {
        f"{name}_subset": {
            "params": {"min_p_yes": 0.5, "gates": "StrictCheck defaults"},
            "note": note,
            "check": {k: scores(v, gold) for k, v in decisions.items()},
        }
    }


def _by_origin(rows: list, decide) -> dict:
    kinds: dict[str, list[bool]] = {}
    for r in rows:
        kinds.setdefault(r[0].origin.split(":")[0], []).append(decide(r) == r[0].supported)
    return {k: f"{sum(v)}/{len(v)}" for k, v in sorted(kinds.items())}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    j = sub.add_parser("judge", help="LLM judge probability of yes for every pair (resumable)")
    j.add_argument("--gguf", type=Path, required=True)
    j.add_argument("--out", type=Path, required=True)
    j.add_argument("--threads", type=int, default=1)
    j.add_argument("--only-check-ids", default=None)
    r = sub.add_parser("report", help="tune on TUNE, report on CHECK")
    r.add_argument("--judge", action="append", help="judge JSONL (repeatable)")
    r.add_argument("--json", type=Path, default=None)
    r.add_argument("--no-legacy", action="store_true", help="TUNE without the 47 earlier pairs")
    r.add_argument("--no-per-pair", action="store_true", help="leave the per-pair signals out of the JSON")
    args = parser.parse_args(argv)
    {"judge": cmd_judge, "report": cmd_report}[args.cmd](args)


if __name__ == "__main__":
    main()
