"""/v1/sessions: chat-style tutor sessions on a performance (JSON or SSE replies with citations)."""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from api.db_models import Message, Performance, TutorSession
from api.deps import FeedbackDep, PrincipalDep, SessionDep, StateDep
from api.routes.common import error_responses, get_owned, new_id
from api.schemas import MessageCreate, MessagePublic, ReplyPublic, SessionCreate, SessionList, SessionPublic
from api.sse import event_stream, run_watching_disconnect, wants_event_stream
from scorer.schema import ScoreReport

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])

_SSE_DOC = {
    "content": {
        "text/event-stream": {
            "schema": {"type": "string"},
            "description": (
                "With `Accept: text/event-stream`: `start`, `delta` (the reply's draft tokens), `error`, `done` "
                "(the stored reply). The tutor sees the performance's evidence (problems with times and bars, "
                "rushed and dragged bars, uneven chords, note errors), so it can answer e.g. which bars were rushed."
            ),
        }
    }
}


def message_public(row: Message) -> MessagePublic:
    result = row.result or {}
    return MessagePublic(
        id=row.id,
        seq=row.seq,
        role=row.role,
        content=row.content,
        citations=result.get("citations") or [],
        generator=result.get("generator"),
        created_at=row.created_at,
    )


def session_public(row: TutorSession) -> SessionPublic:
    return SessionPublic(
        id=row.id,
        performance_id=row.performance_id,
        created_at=row.created_at,
        messages=[message_public(m) for m in row.messages],
    )


@router.post("", status_code=201, response_model=SessionPublic, responses=error_responses(401, 404, 422, 429))
def create_session(body: SessionCreate, principal: PrincipalDep, session: SessionDep) -> SessionPublic:
    """Open a tutor session, optionally on one of the caller's performances."""
    if body.performance_id is not None:
        get_owned(session, Performance, body.performance_id, principal, "performance")
    row = TutorSession(id=new_id(), owner=principal.key_id, performance_id=body.performance_id)
    session.add(row)
    session.commit()
    return SessionPublic(id=row.id, performance_id=row.performance_id, created_at=row.created_at, messages=[])


@router.get("", response_model=SessionList, responses=error_responses(401, 429))
def list_sessions(principal: PrincipalDep, session: SessionDep) -> SessionList:
    query = select(TutorSession).order_by(TutorSession.created_at.desc(), TutorSession.id).limit(200)
    if not principal.is_admin:
        query = query.where(TutorSession.owner == principal.key_id)
    return SessionList(items=[session_public(row) for row in session.scalars(query)])


@router.get("/{session_id}", response_model=SessionPublic, responses=error_responses(401, 404, 429))
def get_session(session_id: str, principal: PrincipalDep, session: SessionDep) -> SessionPublic:
    """The history, with each answer's citations."""
    return session_public(get_owned(session, TutorSession, session_id, principal, "session"))


@router.delete("/{session_id}", status_code=204, responses=error_responses(401, 404, 429))
def delete_session(session_id: str, principal: PrincipalDep, session: SessionDep) -> Response:
    session.delete(get_owned(session, TutorSession, session_id, principal, "session"))
    session.commit()
    return Response(status_code=204)


@router.post(
    "/{session_id}/messages",
    response_model=ReplyPublic,
    responses={200: _SSE_DOC, **error_responses(401, 404, 422, 429)},
)
async def post_message(
    session_id: str,
    body: MessageCreate,
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    state: StateDep,
    feedback_job: FeedbackDep,
) -> Any:
    """Ask the tutor. The answer retrieves on the question condensed with the recent turns and sees the
    performance's scores and weak spots; the turn is stored only once the answer is complete.
    Generations run at once are limited per key and in total (429); one stops when its client leaves."""
    cancel = threading.Event()
    return await run_watching_disconnect(
        request,
        cancel,
        lambda: _message(session_id, body, request, principal, session, state, feedback_job, cancel),
    )


def _message(
    session_id: str,
    body: MessageCreate,
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    state: StateDep,
    feedback_job: FeedbackDep,
    cancel: threading.Event,
) -> Any:
    tutor = get_owned(session, TutorSession, session_id, principal, "session")
    from rag.generation.feedback_types import ChatTurn

    report = None
    if tutor.performance_id is not None:
        performance = session.get(Performance, tutor.performance_id)
        if performance is not None and performance.report is not None:
            report = ScoreReport.model_validate(performance.report)
    # The job keeps the last settings.feedback_history_turns of these in the prompt.
    history = [ChatTurn(role=m.role, content=m.content) for m in tutor.messages[-50:]]
    session.close()
    slot = state.generations.acquire(principal.key_id)
    try:
        job = feedback_job()
    except BaseException:
        slot.release()
        raise
    start = time.perf_counter()

    def finish(result: dict[str, Any]) -> dict[str, Any]:
        seconds = time.perf_counter() - start
        state.metrics.record_feedback(
            kind="chat",
            generator=str(result.get("generator")),
            llm_error=result.get("llm_error"),
            seconds=seconds,
        )
        with state.db.session() as store:
            if store.get(TutorSession, session_id) is None:  # deleted while answering
                from api.errors import NotFound

                raise NotFound(f"no session with id {session_id!r}")
            seq = store.scalar(select(func.max(Message.seq)).where(Message.session_id == session_id)) or 0
            store.add(
                Message(id=new_id(), session_id=session_id, seq=seq + 1, role="user", content=body.content)
            )
            reply = Message(
                id=new_id(),
                session_id=session_id,
                seq=seq + 2,
                role="assistant",
                content=str(result.get("text", "")),
                result=result,
            )
            store.add(reply)
            store.flush()
            message = message_public(reply)
        return ReplyPublic(session_id=session_id, message=message, feedback=result).model_dump(mode="json")

    if wants_event_stream(request):
        events = job.chat_stream(question=body.content, history=history, report=report, cancel=cancel)

        def on_done(data: dict[str, Any]) -> dict[str, Any]:
            result = data.get("result", data)
            result = result.model_dump(mode="json") if hasattr(result, "model_dump") else dict(result)
            return {"type": "done", **finish(result)}

        return event_stream(events, on_done=on_done, cancel=cancel, slot=slot)
    try:
        result = job.chat(question=body.content, history=history, report=report, cancel=cancel)
    finally:
        slot.release()
    return JSONResponse(finish(result.model_dump(mode="json")))
