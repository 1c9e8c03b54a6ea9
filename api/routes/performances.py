"""/v1/performances: upload a recording (scored in the background, optionally against its score), read, list,
play back, delete."""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from api.audio_store import SCORE_DIR, classify, commit_audio, staged_with_extension
from api.auth import Principal
from api.db_models import Feedback, Job, Performance
from api.deps import PrincipalDep, SessionDep, StateDep
from api.errors import InputError, NotFound
from api.routes.common import error_responses, get_owned, multipart_body, new_id
from api.schemas import (
    FeedbackList,
    FeedbackPublic,
    PerformanceCreated,
    PerformanceList,
    PerformancePublic,
    RequestModel,
)
from api.settings import Settings
from api.uploads import ReceivedFile, receive_multipart
from scorer.inference.spots import parse_bar_times

log = logging.getLogger("cadenza.api")
router = APIRouter(prefix="/v1/performances", tags=["performances"])


class PerformanceForm(RequestModel):
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
        "Optional score of the piece: MIDI, MusicXML (.musicxml, .xml) or compressed MusicXML (.mxl), "
        "recognised by content. With it the report names wrong, missed and extra notes and reports every "
        "bar (note_errors, bars), weak spots name bars, and timing is judged against it. Refused: 415 not "
        "a score, 413 over the score size limit, 400 unreadable, empty, without notes or unsafe (XML "
        "entity declarations, an .mxl that inflates far beyond its size)."
    ),
}
# The stored score keeps its format's extension (the reader sniffs the content again when the job loads it).
SCORE_EXTENSIONS = {"midi": ".mid", "musicxml": ".musicxml", "mxl": ".mxl"}
# Playing a performance back: a MIDI upload is rendered (as the scorer heard it) once, kept beside the audio
# store under its hash and removed with it; audio is sent as stored.
RENDER_DIR = Path("uploads") / "renders"
AUDIO_MEDIA_TYPES = {
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".aiff": "audio/aiff",
}


def _probe(path: Path, settings: Settings, name: str) -> float:
    from scorer.inference.service import probe_recording

    return probe_recording(path, settings.scorer_config(), name=name)


def _check_score(upload: ReceivedFile, settings: Settings) -> str:
    """A score sent beside the recording: refused now (4xx, nothing stored) unless it is a safe MIDI, MusicXML
    or .mxl file the loader reads (notes and bars). Returns the extension to store it under."""
    from scorer.inference.align import load_score
    from scorer.inference.score_files import read_score_file

    name = _display_name(upload) or "the score"
    score_file = read_score_file(upload.path, name, settings.score_upload_max_bytes)
    extension = SCORE_EXTENSIONS[score_file.format]
    load_score(staged_with_extension(upload, extension), name=name)  # bars, parts: what the job will need
    return extension


def _store(
    state,
    principal: Principal,
    upload: ReceivedFile,
    form: PerformanceForm,
    bar_times: list[float] | None,
    extension: str,
    duration_s: float,
    score: ReceivedFile | None,
    score_extension: str = ".mid",
) -> str:
    """Move the audio (and score) to their content-hash names, then insert the performance and its job together."""
    home = state.settings.home
    relative = commit_audio(home, upload, extension)
    score_relative = None
    performance_id = new_id()
    try:
        if score is not None:
            score_relative = commit_audio(home, score, score_extension, SCORE_DIR)
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
        _render_path(state.settings.home, sha256).unlink(missing_ok=True)
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
    """Upload a recording (and optionally its score as ``score``: MIDI, MusicXML or .mxl); both are validated
    now and the recording is scored in the background (poll GET /v1/performances/{id})."""
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
            raise InputError("send 'score' as a file part (MIDI, MusicXML or .mxl), not as a text field")
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
        score_extension = ".mid"
        if score is not None:
            score_extension = await run_in_threadpool(_check_score, score, settings)
        performance_id = await run_in_threadpool(
            _store,
            state,
            principal,
            form.file,
            fields,
            bar_times,
            extension,
            duration_s,
            score,
            score_extension,
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


@router.get(
    "/{performance_id}/audio",
    response_class=Response,
    responses={
        **error_responses(401, 404, 429, 500),
        200: {"content": {"audio/wav": {}, "audio/*": {}}, "description": "The recording."},
    },
)
async def get_performance_audio(
    performance_id: str, principal: PrincipalDep, session: SessionDep, state: StateDep
) -> Response:
    """The recording to play back: a MIDI upload rendered to WAV with the scorer's soundfont (what the scorer
    heard; rendered once, removed with the upload), an audio upload as stored. The page seeks it to a bar or a weak spot."""
    row = get_owned(session, Performance, performance_id, principal, "performance")
    path = state.settings.home / row.audio_path
    if not path.is_file():
        raise NotFound("the recording of this performance is no longer stored")
    suffix = path.suffix.lower()
    if suffix != ".mid":
        return FileResponse(path, media_type=AUDIO_MEDIA_TYPES.get(suffix, "application/octet-stream"))
    wav = await run_in_threadpool(_rendered_wav, path, row.audio_sha256, state.settings)
    return FileResponse(wav, media_type="audio/wav")


def _render_path(home: Path, sha256: str) -> Path:
    return home / RENDER_DIR / sha256[:2] / f"{sha256}.wav"


def _rendered_wav(path: Path, sha256: str, settings: Settings) -> Path:
    """The WAV render of a stored MIDI upload, made on first request (fluidsynth: ~1.4 s for 19 s of music) and
    kept under its content hash, so that repeated requests cost no CPU; it goes with the MIDI file."""
    import soundfile

    from scorer.inference.features import FEATURE_SR
    from scorer.inference.render import render_midi_bytes

    target = _render_path(settings.home, sha256)
    if target.is_file():
        return target
    audio = render_midi_bytes(path.read_bytes(), settings.scorer_config().soundfont, sr=FEATURE_SR)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.stem}.{uuid.uuid4().hex}.partial")
    try:
        soundfile.write(partial, audio, FEATURE_SR, format="WAV", subtype="PCM_16")
        os.replace(partial, target)  # two requests rendering at once both succeed; one file stays
    finally:
        partial.unlink(missing_ok=True)
    return target


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
