"""Prometheus metrics, one registry per app (so several apps in one test process do not collide)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.request_latency = Histogram(
            "cadenza_http_request_duration_seconds",
            "HTTP request latency by route template.",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=_LATENCY_BUCKETS,
        )
        self.scoring_duration = Histogram(
            "cadenza_scoring_duration_seconds",
            "Time to score one performance (background worker).",
            ["outcome"],
            registry=self.registry,
            buckets=_LATENCY_BUCKETS,
        )
        self.generation_duration = Histogram(
            "cadenza_feedback_generation_duration_seconds",
            "Feedback / tutor reply time, retrieval included.",
            ["kind", "generator"],
            registry=self.registry,
            buckets=_LATENCY_BUCKETS,
        )
        self.llm_failures = Counter(
            "cadenza_llm_failures_total",
            "LLM calls that failed (the fallback answered instead).",
            ["kind"],
            registry=self.registry,
        )
        self.fallbacks = Counter(
            "cadenza_feedback_fallback_total",
            "Answers written by the fallback generator.",
            ["kind"],
            registry=self.registry,
        )
        self.jobs = Counter(
            "cadenza_jobs_total",
            "Scoring jobs finished, by outcome.",
            ["outcome"],
            registry=self.registry,
        )

    def record_feedback(self, *, kind: str, generator: str, llm_error: str | None, seconds: float) -> None:
        self.generation_duration.labels(kind=kind, generator=generator).observe(seconds)
        if generator == "fallback":
            self.fallbacks.labels(kind=kind).inc()
        if llm_error:
            self.llm_failures.labels(kind=kind).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class LatencyMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware) so streamed responses are timed to their last byte."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            # The route template (/v1/performances/{performance_id}), never the raw path: bounded labels.
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.request_latency.labels(
                method=scope["method"], route=template, status=str(status)
            ).observe(time.perf_counter() - start)
