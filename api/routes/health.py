"""Liveness, readiness and Prometheus metrics (no API key needed)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from api.deps import StateDep
from api.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is up (no dependency checked)."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(state: StateDep) -> JSONResponse:
    """Ready to serve: database reachable, retriever open (opened now if needed), worker running."""
    checks: dict[str, str] = {}
    try:
        await run_in_threadpool(state.db.ping)
        checks["database"] = "ok"
    except Exception as err:  # readiness reports failures, it does not raise them
        checks["database"] = f"error: {type(err).__name__}"
    try:
        retriever = await run_in_threadpool(state.components.retriever)
        checks["retriever"] = f"ok ({len(retriever.list_documents())} documents)"
    except Exception as err:
        checks["retriever"] = f"error: {getattr(err, 'message', type(err).__name__)}"
    checks["worker"] = "ok" if state.started else "not started"
    checks.update({f"loaded.{name}": str(flag).lower() for name, flag in state.components.loaded().items()})
    ready = all(value.startswith("ok") for key, value in checks.items() if not key.startswith("loaded."))
    body = Readiness(status="ready" if ready else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response)
def metrics(state: StateDep) -> Response:
    """Prometheus text format: request latency per route, scoring and generation time, LLM failures."""
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
