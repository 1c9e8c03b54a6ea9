"""/v1/performances: upload a recording (scored in the background), read, list, delete."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from api.audio_store import SCORE_DIR, classify, commit_audio, staged_with_extension
from api.auth import Principal
from api.db_models import Feedback, Job, Performance
from api.deps import PrincipalDep, SessionDep, StateDep
from api.errors import InputError, UnsupportedMediaType
from api.routes.common import error_responses, get_owned, multipart_body, new_id
from api.schemas import FeedbackList, FeedbackPublic, PerformanceCreated, PerformanceList, PerformancePublic
from api.settings import Settings
from api.uploads import ReceivedFile, receive_multipart
from scorer.inference.spots import parse_bar_times

log = logging.getLogger("cadenza.api")
router = APIRouter(prefix="/v1/performances", tags=["performances"])


class PerformanceForm(BaseModel):
    """The text fields sent beside the recording."""

    model_config = ConfigDict(extra="ignore")

    title: str | None = Field(None, max_length=300)
    composer: str | None = Field(None, max_length=300)
    piece: str | None = Field(None, max_length=300)
    level: str | None = Field(None, max_length=100)
    bars: str | None = Field(
        None,
        max_length=20_000,
        description="Bar start times in seconds, comma-separated: weak spots then name bars.",
    )


_FORM_FIELDS = {
    name: {"type": "string", "maxLength": info.metadata[0].max_length if info.metadata else 300}
    for name, info in PerformanceForm.model_fields.items()
}
_FORM_FIELDS["score"] = {
    "type": "string",
    "format": "binary",
    "description": (
        "Optional score MIDI of the piece: weak spots then name bars, and timing stability is judged against it."
    ),
}


def _probe(path: Path, settings: Settings, name: str) -> float:
    from scorer.inference.service import probe_recording

    return probe_recording(path, settings.scorer_config(), name=name)


def _check_score(upload: ReceivedFile) -> None:
    """A score MIDI sent beside the recording: refused now (4xx) unless it is a MIDI file with notes and bars."""
    from scorer.inference.align import load_score

    if upload.size == 0:
        raise InputError("the uploaded score is empty")
    with open(upload.path, "rb") as fh:
        if fh.read(4) != b"MThd":
            raise UnsupportedMediaType(
                "the score must be a MIDI file",
                detail={"filename": upload.filename, "content_type": upload.content_type},
            )
    load_score(staged_with_extension(upload, ".mid"), name="the score")


def _store(
    state,
    principal: Principal,
    upload: ReceivedFile,
    form: PerformanceForm,
    bar_times: list[float] | None,
    extension: str,
    duration_s: float,
    score: ReceivedFile | None,
) -> str:
    """Move the audio (and score) to their content-hash names, then insert the performance and its job together."""
    home = state.settings.home
    relative = commit_audio(home, upload, extension)
    score_relative = None
    performance_id = new_id()
    try:
        if score is not None:
            score_relative = commit_audio(home, score, ".mid", SCORE_DIR)
        with state.db.session() as session:
            session.add(
                Performance(
                    id=performance_id,
                    owner=principal.key_id,
                    status="queued",
                    filename=_display_name(upload),
                    audio_sha256=upload.sha256,
                    audio_path=str(relative),
                    size_bytes=upload.size,
                    duration_s=duration_s,
                    bar_times=bar_times,
                    **form.model_dump(exclude={"bars"}),
                    score_sha256=score.sha256 if score is not None else None,
                    score_path=str(score_relative) if score_relative is not None else None,
                    score_filename=_display_name(score) if score is not None else None,
                )
            )
            session.flush()
            session.add(Job(id=new_id(), performance_id=performance_id, status="queued"))
    except BaseException:
        _remove_files_if_unused(
            state, upload.sha256, str(relative), score.sha256 if score is not None else None, score_relative
        )
        raise
    return performance_id


def _display_name(upload: ReceivedFile) -> str | None:
    # Only the base name, for display: the stored file is always named by its hash.
    if not upload.filename:
        return None
    return upload.filename.replace("\\", "/").rsplit("/", 1)[-1][:300] or None


def _remove_files_if_unused(
    state,
    sha256: str,
    relative: str,
    score_sha256: str | None = None,
    score_relative: str | Path | None = None,
) -> None:
    """Delete a recording (and its score) unless another performance still refers to the same bytes."""
    with state.db.session() as session:
        users = session.scalar(
            select(func.count()).select_from(Performance).where(Performance.audio_sha256 == sha256)
        )
        score_users = (
            session.scalar(
                select(func.count()).select_from(Performance).where(Performance.score_sha256 == score_sha256)
            )
            if score_sha256
            else 1
        )
    if not users:
        (state.settings.home / relative).unlink(missing_ok=True)
    if not score_users and score_relative is not None:
        (state.settings.home / score_relative).unlink(missing_ok=True)


@router.post(
    "",
    status_code=202,
    response_model=PerformanceCreated,
    openapi_extra=multipart_body(
        "file", _FORM_FIELDS, "The recording: WAV, FLAC, Ogg, MP3, M4A, AIFF or MIDI."
    ),
    responses=error_responses(400, 401, 413, 415, 429),
)
async def create_performance(
    request: Request, principal: PrincipalDep, state: StateDep
) -> PerformanceCreated:
    """Upload a recording (and optionally its score MIDI as ``score``); both are validated now and the
    recording is scored in the background (poll GET /v1/performances/{id})."""
    settings = state.settings
    form = await receive_multipart(
        request,
        file_field="file",
        staging=state.staging_dir,
        max_bytes=settings.upload_max_bytes,
        extra_files={"score": settings.score_upload_max_bytes},
    )
    try:
        if form.file is None:
            raise InputError("missing the 'file' part (the recording)")
        if "score" in form.fields:
            raise InputError("send 'score' as a file part (the score MIDI), not as a text field")
        try:
            fields = PerformanceForm.model_validate(form.fields)
        except ValidationError as err:
            raise InputError(
                "invalid form fields", detail=[{"loc": list(e["loc"]), "msg": e["msg"]} for e in err.errors()]
            ) from err
        bar_times = parse_bar_times(fields.bars, "bars")  # a bad list is a 400 before anything is stored
        extension = classify(form.file)
        staged = staged_with_extension(form.file, extension)
        # Messages name the file as the client sent it, never the staged name.
        duration_s = await run_in_threadpool(
            _probe, staged, settings, _display_name(form.file) or "the recording"
        )
        score = form.files.get("score")
        if score is not None and score.size == 0 and not score.filename:
            form.files.pop("score").discard()  # an HTML form's empty file input: an empty part without a name
            score = None
        if score is not None:
            await run_in_threadpool(_check_score, score)
        performance_id = await run_in_threadpool(
            _store, state, principal, form.file, fields, bar_times, extension, duration_s, score
        )
    except BaseException:
        form.discard()
        raise
    state.worker.notify()
    return PerformanceCreated(id=performance_id, status="queued")


@router.get("", response_model=PerformanceList, responses=error_responses(401, 429))
def list_performances(
    principal: PrincipalDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> PerformanceList:
    """The caller's performances, newest first (an admin sees everyone's)."""
    query = (
        select(Performance)
        .order_by(Performance.created_at.desc(), Performance.id)
        .limit(limit)
        .offset(offset)
    )
    if not principal.is_admin:
        query = query.where(Performance.owner == principal.key_id)
    return PerformanceList(items=list(session.scalars(query)))


@router.get("/{performance_id}", response_model=PerformancePublic, responses=error_responses(401, 404, 429))
def get_performance(performance_id: str, principal: PrincipalDep, session: SessionDep) -> PerformancePublic:
    """Status and, once done, the scorer output."""
    row = get_owned(session, Performance, performance_id, principal, "performance")
    return PerformancePublic.model_validate(row, from_attributes=True)


@router.delete("/{performance_id}", status_code=204, responses=error_responses(401, 404, 429))
def delete_performance(
    performance_id: str, principal: PrincipalDep, session: SessionDep, state: StateDep
) -> Response:
    """Remove the performance, its feedback, its job and (unless another performance shares them) its audio
    and score."""
    row = get_owned(session, Performance, performance_id, principal, "performance")
    files = (row.audio_sha256, row.audio_path, row.score_sha256, row.score_path)
    session.delete(row)
    session.commit()
    _remove_files_if_unused(state, *files)
    return Response(status_code=204)


@router.get(
    "/{performance_id}/feedback", response_model=FeedbackList, responses=error_responses(401, 404, 429)
)
def list_performance_feedback(
    performance_id: str, principal: PrincipalDep, session: SessionDep
) -> FeedbackList:
    """The feedback generated for this performance, oldest first."""
    performance = get_owned(session, Performance, performance_id, principal, "performance")
    rows = session.scalars(
        select(Feedback)
        .where(Feedback.performance_id == performance.id)
        .order_by(Feedback.created_at, Feedback.id)
    ).all()
    return FeedbackList(items=[stored_feedback(row, performance) for row in rows])


def stored_feedback(row: Feedback, performance: Performance) -> FeedbackPublic:
    result = dict(row.result)
    return FeedbackPublic(
        id=row.id,
        performance_id=performance.id,
        performance=performance.report,
        feedback=result.get("feedback", {}),
        latency_ms=result.get("latency_ms", {}),
        created_at=row.created_at,
    )
