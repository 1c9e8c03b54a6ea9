"""/v1/feedback: cited feedback for a scored performance or a posted scorer output (JSON or SSE)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.db_models import Feedback, Performance
from api.deps import FeedbackDep, PrincipalDep, SessionDep, StateDep
from api.errors import Conflict
from api.routes.common import error_responses, get_owned, new_id
from api.schemas import FeedbackCreate, FeedbackPublic
from api.sse import event_stream, run_watching_disconnect, wants_event_stream
from scorer.schema import ScoreReport

router = APIRouter(prefix="/v1/feedback", tags=["feedback"])

_SSE_DOC = {
    "content": {
        "text/event-stream": {
            "schema": {"type": "string"},
            "description": (
                "With `Accept: text/event-stream`: events `start`, `delta`, `error` (the LLM failed or its answer did "
                "not parse twice; the fallback follows) and `done` (the checked text and citations, which replace "
                "the deltas). With the structured strategy (the embedded default, `CADENZA_FEEDBACK_STRATEGY`) each "
                "`delta` is one whole rendered part, ending with a blank line, sent as soon as the model has "
                "finished it: the strength, then each problem (what and where from the scorer, the model's practice "
                "step and reason, cited [n] by Cadenza), or one thing to refine; the `done` text is those parts "
                "after the citation check. With the free-text strategies (`single`, `per_dimension`) a `delta` is "
                "the model's draft tokens."
            ),
        }
    }
}


def _result_dict(result: Any) -> dict[str, Any]:
    return result.model_dump(mode="json") if hasattr(result, "model_dump") else dict(result)


@router.post(
    "",
    response_model=FeedbackPublic,
    responses={200: _SSE_DOC, **error_responses(400, 401, 404, 409, 422, 429)},
)
async def create_feedback(
    body: FeedbackCreate,
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    state: StateDep,
    feedback_job: FeedbackDep,
) -> Any:
    """Feedback with checked citations, built from the performance's evidence (weak spots with times, bars and
    note errors, strengths). From ``performance_id`` it is stored with the performance. Streamed (SSE), the
    structured strategy sends each rendered part once complete (see the 200 response's event-stream).
    Generations run at once are limited per key and in total (429); one stops when its client leaves."""
    cancel = threading.Event()
    return await run_watching_disconnect(
        request, cancel, lambda: _feedback(body, request, principal, session, state, feedback_job, cancel)
    )


def _feedback(
    body: FeedbackCreate,
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    state: StateDep,
    feedback_job: FeedbackDep,
    cancel: threading.Event,
) -> Any:
    performance: Performance | None = None
    if body.performance_id is not None:
        performance = get_owned(session, Performance, body.performance_id, principal, "performance")
        if performance.status != "done" or performance.report is None:
            raise Conflict(
                f"performance {performance.id} is {performance.status}, not scored yet",
                detail={"status": performance.status},
            )
        report = ScoreReport.model_validate(performance.report)
        piece = body.piece or performance.piece or performance.title
        composer = body.composer or performance.composer
        level = body.level or performance.level
    else:
        assert body.scores is not None
        report, piece, composer, level = body.scores, body.piece, body.composer, body.level
    performance_id = performance.id if performance is not None else None
    owner = principal.key_id
    session.close()  # generation takes seconds: do not hold a database connection meanwhile
    slot = state.generations.acquire(owner)
    try:
        job = feedback_job()
    except BaseException:
        slot.release()
        raise
    start = time.perf_counter()

    def finish(feedback: dict[str, Any]) -> dict[str, Any]:
        """Record metrics, store (for a performance) and build the response body."""
        total_ms = (time.perf_counter() - start) * 1000
        latency = {**{k: float(v) for k, v in (feedback.get("latency_ms") or {}).items()}, "total": total_ms}
        state.metrics.record_feedback(
            kind="feedback",
            generator=str(feedback.get("generator")),
            llm_error=feedback.get("llm_error"),
            seconds=total_ms / 1000,
        )
        public = FeedbackPublic(
            performance_id=performance_id,
            performance=report,
            feedback=feedback,
            latency_ms=latency,
            created_at=datetime.now(UTC),
        )
        if performance_id is not None:
            public.id = new_id()
            stored = public.model_dump(mode="json", include={"feedback", "latency_ms"})
            with state.db.session() as store:
                if store.get(Performance, performance_id) is not None:  # not deleted meanwhile
                    store.add(
                        Feedback(
                            id=public.id,
                            performance_id=performance_id,
                            owner=owner,
                            generator=str(feedback.get("generator")),
                            result=stored,
                        )
                    )
        return public.model_dump(mode="json")

    if wants_event_stream(request):
        events = job.stream(report, piece=piece, composer=composer, level=level, cancel=cancel)

        def on_done(data: dict[str, Any]) -> dict[str, Any]:
            result = data.get("result", data)
            return {"type": "done", **finish(_result_dict(result))}

        return event_stream(events, on_done=on_done, cancel=cancel, slot=slot)
    try:
        result = job.generate(report, piece=piece, composer=composer, level=level, cancel=cancel)
    finally:
        slot.release()
    return JSONResponse(finish(_result_dict(result)))
