"""`rag-eval feedback`: generation quality over committed score profiles, reported separately for the
LLM's answers and for the deterministic fallback's answers.

Metrics per answer:
- citation validity: share of the raw output's references that point to a given source (before the check);
- citation coverage: share of advice sentences (sentences with an advice verb) that carry a citation;
- grounding rate: share of (sentence, citation) pairs whose passage supports the sentence (rag/generation/grounding.py);
- weak-dimension coverage: share of the two weakest quality dimensions (by desirability) the text addresses;
then the fallback rate of the LLM runs and latency. ``llm_attempts`` scores every answer the LLM returned
(after the citation check), also those the job then replaced by the fallback (no valid or, under the
stricter policy, no supported citation): the model's own quality, not only what survived the policy."""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Iterable
from pathlib import Path

from rag.generation.citations import parse_markers, split_sentences
from rag.generation.dimension_words import mentions, weakest_two
from rag.generation.feedback_types import FeedbackResult
from rag.job import FeedbackJob
from scorer.schema import ScoreReport

_ADVICE = re.compile(
    r"\b(practi[cs]e|try|listen|play|use|using|keep|work|focus|aim|avoid|count|lift|chang|imagine|let|make|should|"
    r"must|need|remember|start|slow|feel|think|study|relax|bring|shape|vary|hold|release|pedal|follow)\w*",
    re.IGNORECASE,
)


def load_profiles(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        row["report"] = ScoreReport.model_validate(row["report"])
    return rows


def advice_sentences(text: str) -> list[str]:
    return [s for s in split_sentences(text) if len(s.split()) >= 4 and _ADVICE.search(s)]


def text_metrics(
    text: str, grounding_rate: float | None, report: ScoreReport, raw_validity: float | None
) -> dict:
    advice = advice_sentences(text)
    cited = [s for s in advice if parse_markers(s)]
    weak = weakest_two(report)
    return {
        "citation_validity": raw_validity,
        "citation_coverage": len(cited) / len(advice) if advice else 0.0,
        "grounding_rate": None if grounding_rate is None else round(grounding_rate, 4),
        "weak_dimension_coverage": sum(mentions(text, n) for n in weak) / len(weak) if weak else None,
    }


def answer_metrics(result: FeedbackResult, report: ScoreReport, raw_validity: float | None) -> dict:
    return {
        **text_metrics(result.text, result.grounding_rate, report, raw_validity),
        "citations": len(result.citations),
        "invalid_markers": len(result.invalid_markers),
        "latency_ms": result.latency_ms.get("total"),
        "llm_ms": result.latency_ms.get("llm"),
    }


def _mean(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return round(statistics.fmean(vals), 4) if vals else None


def summarise(rows: list[dict]) -> dict:
    return {
        "answers": len(rows),
        "citation_validity": _mean(r["citation_validity"] for r in rows),
        "citation_coverage": _mean(r["citation_coverage"] for r in rows),
        "grounding_rate": _mean(r["grounding_rate"] for r in rows),
        "weak_dimension_coverage": _mean(r["weak_dimension_coverage"] for r in rows),
        "weak_dimension_full_coverage": _mean(float(r["weak_dimension_coverage"] == 1.0) for r in rows),
        **(
            {
                "latency_ms_median": round(statistics.median(r["latency_ms"] for r in rows), 1)
                if rows
                else None,
                "latency_ms_max": round(max(r["latency_ms"] for r in rows), 1) if rows else None,
            }
            if not rows or "latency_ms" in rows[0]
            else {}
        ),
    }


def run(job: FeedbackJob, profiles: list[dict], *, progress=None, llm: bool = True) -> dict:
    """LLM runs (falling back where the job does) and deterministic fallback runs for every profile;
    ``llm=False``: the fallback runs alone (minutes instead of an hour on one CPU core)."""
    llm_rows: list[dict] = []
    llm_fell_back: list[dict] = []
    fallback_rows: list[dict] = []
    per_profile: list[dict] = []
    started = time.perf_counter()
    for row in profiles:
        report = row["report"]
        result = (
            job.generate(report, piece=row.get("piece"), composer=row.get("composer"), level=row.get("level"))
            if llm
            else job.fallback(report, piece=row.get("piece"), composer=row.get("composer"))
        )
        metrics = answer_metrics(result, report, result.trace.raw_validity)
        (llm_rows if result.generator == "llm" else llm_fell_back).append(metrics)
        fb = job.fallback(report, piece=row.get("piece"), composer=row.get("composer"))
        fb_metrics = answer_metrics(fb, report, marker_validity(fb))
        fallback_rows.append(fb_metrics)
        per_profile.append(_profile_row(row["id"], report, result, metrics, fb, fb_metrics))
        if progress:
            progress(
                row["id"],
                result.generator,
                metrics,
                _summary(
                    job, per_profile, llm_rows, llm_fell_back, fallback_rows, len(profiles), started, llm
                ),
            )
    return _summary(job, per_profile, llm_rows, llm_fell_back, fallback_rows, len(profiles), started, llm)


def marker_validity(result: FeedbackResult) -> float | None:
    """Share of the text's references that point to one of its citations (None: no marker)."""
    refs = [n for m in parse_markers(result.text) for n in m.numbers]
    return sum(1 <= n <= len(result.citations) for n in refs) / len(refs) if refs else None


def _profile_row(
    pid: str, report: ScoreReport, result: FeedbackResult, metrics: dict, fb: FeedbackResult, fb_metrics: dict
) -> dict:
    trace = result.trace  # the LLM's raw and checked answer, also where a policy replaced it
    candidate_metrics = (
        text_metrics(trace.candidate_text, trace.candidate_grounding_rate, report, trace.raw_validity)
        if trace.candidate_text is not None
        else None
    )
    return {
        "id": pid,
        "weak": weakest_two(report),
        "generator": result.generator,
        "llm_error": result.llm_error,
        "raw_llm_text": trace.raw_text,
        "raw_citation_validity": trace.raw_validity,
        "text": result.text,
        "metrics": metrics,
        "llm_candidate_text": trace.candidate_text,
        "llm_candidate_metrics": candidate_metrics,
        "fallback_text": fb.text,
        "fallback_metrics": fb_metrics,
        "llm_parts_filled": trace.filled_parts,
    }


def _summary(
    job: FeedbackJob, per_profile, llm_rows, llm_fell_back, fallback_rows, n_profiles, started, llm=True
) -> dict:
    llm_attempted = [p for p in per_profile if p["raw_llm_text"] is not None]
    return {
        "profiles": n_profiles,
        "completed": len(per_profile),
        "model": job.model if llm else None,
        "llm_asked": llm,
        "grounding_threshold": job.config.threshold,
        "fallback_rate": round(sum(p["generator"] == "fallback" for p in per_profile) / len(per_profile), 4),
        "llm_raw_citation_validity_all_attempts": _mean(p["raw_citation_validity"] for p in llm_attempted),
        # weak-dimension parts (2 per profile) where the model's answer had nothing left and the cited quote stood in
        "llm_parts_filled_by_fallback": sum(p.get("llm_parts_filled", 0) for p in per_profile),
        "llm_attempts": summarise(
            [p["llm_candidate_metrics"] for p in per_profile if p["llm_candidate_metrics"]]
        ),
        "llm_answers": summarise(llm_rows),
        "fallback_answers": summarise(fallback_rows),
        "answers_served": summarise(llm_rows + llm_fell_back),
        "wall_s": round(time.perf_counter() - started, 1),
        "per_profile": per_profile,
    }
