"""The feedback step's cost and quality per embedded model (issue 18): for a few committed profiles, the
structured strategy end to end (evidence → one passage per problem → the llama.cpp server with a JSON-schema
grammar, streamed) and, for each answer, the prompt size in tokens, the time to the first rendered part the
student sees, the whole time, the generation speed, and quality by the issue's measures: citations present
and valid, about this performance (the problems' dimensions named by the model's own words, where given), and
the copying share (model sentences that are >= 80% book text, eval/feedback_copying.py's rule).

    python -m eval.bench_feedback --home DATA_HOME --models qwen2.5-coder-1.5b-instruct,qwen2.5-coder-0.5b-instruct \
        --profiles p00,p05 --threads 2 --out eval/results/feedback_model.json

The retriever is the data home's (index it first: ``cadenza index``). Each model gets its own llama.cpp server
(started by Cadenza, as in production); the first request per model also pays the prompt cache's cold start."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from api.settings import Settings  # noqa: E402
from rag.generation.dimension_words import mentions  # noqa: E402
from rag.generation.evidence import build_evidence  # noqa: E402
from rag.generation.feedback import FeedbackService  # noqa: E402
from rag.generation.llm import LLMClient  # noqa: E402
from rag.generation.local_llm import LocalLLMServer  # noqa: E402
from rag.generation.structured import structured_messages, warm_up_messages  # noqa: E402
from rag.generation.structured_feedback import evidence_queries, find_sources  # noqa: E402
from scorer.schema import ScoreReport  # noqa: E402

PROFILES = Path(__file__).with_name("feedback_profiles.jsonl")


def copied_share(sentences: list[str], passages: list[str]) -> float | None:
    """Share of sentences whose words are >= 80% found in order-free bags of one cited passage's words."""
    if not sentences:
        return None
    bags = [set(p.lower().split()) for p in passages]
    copied = 0
    for sentence in sentences:
        words = [w.strip(".,;:!?\"'()") for w in sentence.lower().split()]
        words = [w for w in words if w]
        if words and any(sum(w in bag for w in words) / len(words) >= 0.8 for bag in bags):
            copied += 1
    return copied / len(sentences)


def token_count(api_base: str, messages: list[dict[str, str]]) -> int | None:
    """Prompt tokens as the server counts them (a 1-token completion's usage)."""
    import httpx

    body = {"messages": messages, "max_tokens": 1, "temperature": 0}
    try:
        response = httpx.post(f"{api_base}/chat/completions", json=body, timeout=900)
        return int(response.json()["usage"]["prompt_tokens"])
    except (httpx.HTTPError, KeyError, ValueError):
        return None


def run_one(service: FeedbackService, profile: dict[str, Any]) -> dict[str, Any]:
    report = ScoreReport.model_validate(profile["report"])
    kw = {k: profile.get(k) for k in ("piece", "composer", "level")}
    evidence = build_evidence(report, **kw)
    sources = find_sources(service, evidence_queries(evidence, piece=kw["piece"], composer=kw["composer"]))
    slots = [sources.slot(i) for i in range(max(len(evidence.problems), 1))]
    messages = structured_messages(evidence, [h for h, _ in slots], [f for _, f in slots])
    started = time.perf_counter()
    first = None
    events = []
    for event in service.stream(report, **kw):
        if event.type == "delta" and first is None:
            first = time.perf_counter() - started
        events.append(event)
    total = time.perf_counter() - started
    result = events[-1].result
    assert result is not None
    answer = (
        json.loads(result.trace.raw_text) if result.generator == "llm" and result.trace.raw_text else None
    )
    model_sentences = []
    if answer:
        model_sentences = [answer["strength"]] + [p["step"] for p in answer.get("problems", [])]
        if answer.get("refine"):
            model_sentences.append(answer["refine"])
    out_tokens = len((result.trace.raw_text or "").split()) * 1.4  # rough: ~1.4 tokens per word of JSON text
    named = [p.dimension for p in evidence.problems]
    return {
        "profile": profile["id"],
        "generator": result.generator,
        "llm_error": result.llm_error,
        "model": result.model,
        "prompt_tokens": token_count(service.llm._api_base(), messages),
        "first_part_s": None if first is None else round(first, 1),
        "total_s": round(total, 1),
        "approx_tokens_per_s": round(out_tokens / total, 2) if total and answer else None,
        "citations": len(result.citations),
        "invalid_markers": len(result.invalid_markers),
        "problems_named_in_model_words": (
            sum(
                mentions(model_sentences[1 + i], d) if 1 + i < len(model_sentences) else False
                for i, d in enumerate(named)
            )
            if answer
            else None
        ),
        "problems": len(named),
        "copied_share": copied_share(model_sentences, [h.text for h in sources.hits]),
        "grounding_rate": result.grounding_rate,
        "text": result.text,
        "raw": result.trace.raw_text,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--models", default="qwen2.5-coder-1.5b-instruct,qwen2.5-coder-0.5b-instruct")
    parser.add_argument("--profiles", default="p00,p05")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--warm-up",
        action="store_true",
        help="Warm each model's server (start + the prompt's fixed part, as `cadenza feedback` does while it "
        "scores) before the first profile; its time is printed, not counted in the first profile's.",
    )
    args = parser.parse_args()
    wanted = args.profiles.split(",")
    profiles = [p for p in map(json.loads, PROFILES.read_text().splitlines()) if p["id"] in wanted]
    settings = Settings(home=args.home)
    from rag.retrieval.retriever import Retriever

    retriever = Retriever.open(settings.retrieval_config())
    rows = []
    try:
        for model in args.models.split(","):
            config = dataclasses.replace(
                settings.generation_config(),
                local_llm_model=model,
                local_llm_threads=args.threads,
                llm_timeout_s=args.timeout,
                feedback_strategy="structured",
            )
            service = FeedbackService(config, retriever)
            if args.warm_up:
                t = time.perf_counter()
                LLMClient(config).warm_up(warm_up_messages())
                print(json.dumps({"model_setting": model, "warm_up_s": round(time.perf_counter() - t, 1)}))
            for profile in profiles:
                row = {
                    "model_setting": model,
                    "threads": args.threads,
                    "warm_up": args.warm_up,
                    "load_avg": os.getloadavg()[0],
                }
                row.update(run_one(service, profile))
                rows.append(row)
                print(json.dumps({k: v for k, v in row.items() if k not in ("text", "raw")}), flush=True)
            LocalLLMServer.stop_shared()
    finally:
        retriever.close()
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
