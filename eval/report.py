"""Turns system runs into the JSON contract, a terminal table, Markdown and a plot."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eval.judgements import EvalSet
from eval.metrics import METRICS
from eval.runner import SystemRun
from eval.stats import bootstrap_ci, paired_randomisation

SIGNIFICANCE_METRICS = ("ndcg@10", "recall@10")


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if values else 0.0


def _pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def summarise(run: SystemRun, query_ids: Sequence[str]) -> dict[str, Any]:
    outcomes = [run.outcomes[q] for q in query_ids]
    out: dict[str, Any] = {m: _mean([o.metrics[m] for o in outcomes]) for m in METRICS}
    out["ci95"] = {m: list(bootstrap_ci([o.metrics[m] for o in outcomes])) for m in METRICS}
    totals = [o.latency_ms["total"] for o in outcomes]
    stages = sorted({s for o in outcomes for s in o.latency_ms if s != "total"})
    out["latency_ms"] = {
        "p50": _pct(totals, 50),
        "p95": _pct(totals, 95),
        "stages": {
            s: {"p50": _pct(v, 50), "p95": _pct(v, 95)}
            for s in stages
            if (v := [o.latency_ms[s] for o in outcomes if s in o.latency_ms])
        },
    }
    return out


def significance(runs: Sequence[SystemRun], query_ids: Sequence[str]) -> list[dict[str, Any]]:
    rows = []
    for a, b in itertools.combinations(runs, 2):
        for metric in SIGNIFICANCE_METRICS:
            xa = [a.outcomes[q].metrics[metric] for q in query_ids]
            xb = [b.outcomes[q].metrics[metric] for q in query_ids]
            rows.append(
                {
                    "a": a.spec.name,
                    "b": b.spec.name,
                    "metric": metric,
                    "delta": _mean(xa) - _mean(xb),
                    "p_value": paired_randomisation(xa, xb),
                    "test": "paired randomisation, 10000 sign flips",
                }
            )
    return rows


def build_report(
    evalset: EvalSet,
    runs: Sequence[SystemRun],
    *,
    parts: Mapping[str, str] | None = None,
    meta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    ids = [q.query_id for q in evalset.queries]
    report: dict[str, Any] = {
        "dataset": evalset.name,
        "format": evalset.format,
        "n_queries": len(ids),
        "systems": {r.spec.name: summarise(r, ids) for r in runs},
        "significance": significance(runs, ids),
        "per_query": [
            {
                "query_id": q.query_id,
                "query": q.text,
                "dimension": q.dimension,
                **({"part": parts.get(q.query_id)} if parts else {}),
                "systems": {
                    r.spec.name: {
                        **{m: r.outcomes[q.query_id].metrics[m] for m in ("ndcg@10", "recall@10", "mrr@10")},
                        "top3": r.outcomes[q.query_id].top3,
                    }
                    for r in runs
                },
            }
            for q in evalset.queries
        ],
    }
    if parts:
        report["parts"] = {}
        for part in sorted(set(parts.values())):
            pids = [q for q in ids if parts.get(q) == part]
            report["parts"][part] = {
                "n_queries": len(pids),
                "systems": {
                    r.spec.name: {k: v for k, v in summarise(r, pids).items() if k != "latency_ms"}
                    for r in runs
                },
            }
    if meta:
        report["meta"] = dict(meta)
    return report


def table(report: Mapping[str, Any]) -> str:
    header = ["system", *METRICS, "nDCG@10 95% CI", "p50 ms", "p95 ms"]
    rows = [header]
    for name, s in report["systems"].items():
        lo, hi = s["ci95"]["ndcg@10"]
        rows.append(
            [
                name,
                *(f"{s[m]:.3f}" for m in METRICS),
                f"[{lo:.3f}, {hi:.3f}]",
                f"{s['latency_ms']['p50']:.1f}",
                f"{s['latency_ms']['p95']:.1f}",
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [f"{report['dataset']} ({report['format']}, {report['n_queries']} queries)"]
    for n, r in enumerate(rows):
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=False))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    for part, p in report.get("parts", {}).items():
        lines.append(
            f"  {part} part ({p['n_queries']} queries) nDCG@10: "
            + ", ".join(f"{name} {s['ndcg@10']:.3f}" for name, s in p["systems"].items())
        )
    return "\n".join(lines)


def markdown(report: Mapping[str, Any], *, failures: int = 10) -> str:
    lines = [f"# Retrieval quality: {report['dataset']}", ""]
    meta = report.get("meta", {})
    if meta:
        lines += [f"- {k}: `{v}`" for k, v in meta.items() if not isinstance(v, (dict, list))] + [""]
    lines += [f"{report['n_queries']} queries ({report['format']}). Bootstrap 95% CI for nDCG@10.", ""]
    lines.append("| system | " + " | ".join(METRICS) + " | nDCG@10 95% CI | p50 ms | p95 ms |")
    lines.append("|---" * (len(METRICS) + 4) + "|")
    for name, s in report["systems"].items():
        lo, hi = s["ci95"]["ndcg@10"]
        lines.append(
            f"| {name} | "
            + " | ".join(f"{s[m]:.3f}" for m in METRICS)
            + f" | [{lo:.3f}, {hi:.3f}] | {s['latency_ms']['p50']:.1f} | {s['latency_ms']['p95']:.1f} |"
        )
    for part, p in report.get("parts", {}).items():
        lines += [
            "",
            f"**{part} part** ({p['n_queries']} queries)",
            "",
            "| system | nDCG@10 | recall@10 | MRR@10 |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {n} | {s['ndcg@10']:.3f} | {s['recall@10']:.3f} | {s['mrr@10']:.3f} |"
            for n, s in p["systems"].items()
        ]
    lines += [
        "",
        "## Paired significance (randomisation test)",
        "",
        "| a | b | metric | Δ | p |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['a']} | {r['b']} | {r['metric']} | {r['delta']:+.3f} | {r['p_value']:.4f} |"
        for r in report["significance"]
    ]
    systems = list(report["systems"])
    if systems:
        focus = systems[0]
        worst = sorted(report["per_query"], key=lambda q: q["systems"][focus]["ndcg@10"])[:failures]
        lines += ["", f"## Hardest queries for `{focus}`", ""]
        for q in worst:
            s = q["systems"][focus]
            lines.append(f"- **{q['query_id']}** nDCG@10 {s['ndcg@10']:.3f}: {q['query']}")
            for t in s["top3"]:
                snippet = " ".join(str(t["text"]).split())[:140]
                lines.append(
                    f"  - {t['rank']}. gain {t['gain']} `{t['source']}` {t['char_start']}–{t['char_end']}: {snippet}"
                )
    return "\n".join(lines) + "\n"


def write_json(report: Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def plot(report: Mapping[str, Any], path: Path, metrics: Sequence[str] = METRICS) -> None:
    """Grouped bars: one group per metric, one bar per system, whiskers = bootstrap 95% CI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = list(report["systems"])
    x = np.arange(len(metrics))
    width = 0.8 / max(1, len(systems))
    fig, ax = plt.subplots(figsize=(max(7, 1.6 * len(metrics) + 0.3 * len(systems)), 4.2))
    for i, name in enumerate(systems):
        s = report["systems"][name]
        means = np.array([s[m] for m in metrics])
        lo = np.array([s["ci95"][m][0] for m in metrics])
        hi = np.array([s["ci95"][m][1] for m in metrics])
        ax.bar(
            x + (i - (len(systems) - 1) / 2) * width,
            means,
            width,
            label=name,
            yerr=np.vstack([means - lo, hi - means]),
            capsize=2,
        )
    ax.set_xticks(x, list(metrics))
    ax.set_ylim(0, 1)
    ax.set_title(f"{report['dataset']} ({report['n_queries']} queries), 95% bootstrap CI")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_rankings(runs: Sequence[SystemRun], path: Path) -> None:
    """One line per (system, query): the depth-100 ranking as [chunk_id, source, char_start, char_end]."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for run in runs:
            for qid, outcome in run.outcomes.items():
                ranking = [[it.chunk_id, it.source, it.start, it.end] for it in outcome.ranking]
                handle.write(
                    json.dumps({"system": run.spec.name, "query_id": qid, "ranking": ranking}) + "\n"
                )
