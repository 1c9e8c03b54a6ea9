"""/v1/documents (index new pedagogy documents; admin writes) and /v1/search (mirrors `cadenza search --json`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import ConfigDict, Field, ValidationError, field_validator
from starlette.concurrency import run_in_threadpool

from api.deps import AdminDep, PrincipalDep, RetrieverDep, SettingsDep, StateDep
from api.errors import InputError
from api.routes.common import error_responses, multipart_body
from api.schemas import DocumentIndexed, DocumentList, RequestModel
from api.uploads import receive_multipart
from corpus.urls import check_web_url
from rag.retrieval.types import FlaggedChunk, SearchHit

router = APIRouter(tags=["documents"])


class DocumentForm(RequestModel):
    """Metadata sent beside the document; the title defaults to the one found in the file."""

    model_config = ConfigDict(extra="ignore")

    title: str | None = Field(None, max_length=300)
    author: str | None = Field(None, max_length=300)
    year: str | None = Field(None, max_length=20)
    url: str | None = Field(None, max_length=2000)
    licence: str | None = Field(None, max_length=200)
    slug: str | None = Field(None, max_length=100, pattern=r"^[a-z0-9][a-z0-9_-]*$")

    @field_validator("url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        # Citations turn it into a link: a javascript: or data: URL would run in the page that shows it.
        return check_web_url(value)


_FORM_FIELDS = {
    "title": {"type": "string", "maxLength": 300},
    "author": {"type": "string", "maxLength": 300},
    "year": {"type": "string", "maxLength": 20},
    "url": {"type": "string", "maxLength": 2000, "description": "An http:// or https:// URL."},
    "licence": {"type": "string", "maxLength": 200},
    "slug": {"type": "string", "maxLength": 100, "pattern": "^[a-z0-9][a-z0-9_-]*$"},
}


def _index(
    retriever: Callable[[], Any], data: bytes, filename: str, content_type: str | None, form: DocumentForm
) -> DocumentIndexed:
    from corpus.loaders import load_bytes

    # The file is read before the retriever is asked for: a refused file never loads a model.
    loaded = load_bytes(data, filename=filename, content_type=content_type)
    text = getattr(loaded, "text", "")
    if not text or not text.strip():
        raise InputError("the document contains no text")
    title = form.title or getattr(loaded, "title", None) or filename.rsplit(".", 1)[0]
    document_id, report = retriever().index_document(
        text=text,
        title=title,
        author=form.author,
        year=form.year,
        url=form.url,
        licence=form.licence,
        slug=form.slug,
        source_type=getattr(loaded, "source_type", None) or "book",
    )
    if not report.skipped:
        return DocumentIndexed(document_id=document_id, report=report)
    return DocumentIndexed(
        document_id=document_id,
        report=report,
        skipped=True,
        note=_skip_note(document_id, retriever().catalogue.document(document_id), form),
    )


def _skip_note(document_id: str, stored: Any, form: DocumentForm) -> str:
    """Say that a dedup skip changed nothing, naming the fields sent that differ from the stored document."""
    note = f"the same text is already indexed as {document_id!r}; nothing was changed"
    ignored = [
        name
        for name in ("slug", "title", "author", "year", "url", "licence")
        if getattr(form, name) is not None and getattr(form, name) != getattr(stored, name, None)
    ]
    if ignored:
        note += f" (the {', '.join(ignored)} sent here {'was' if len(ignored) == 1 else 'were'} ignored)"
    return note


@router.post(
    "/v1/documents",
    status_code=201,
    response_model=DocumentIndexed,
    openapi_extra=multipart_body("file", _FORM_FIELDS, "The document: .txt, .md, .html or .pdf."),
    responses=error_responses(400, 401, 403, 413, 415, 429),
)
async def create_document(
    request: Request, principal: AdminDep, state: StateDep, retriever: RetrieverDep
) -> DocumentIndexed:
    """Index a pedagogy document (admin). A document with the same text is skipped (``skipped`` and a
    ``note`` say so; the fields sent are then ignored); one with the same slug and new text replaces the old
    chunks. Searches running meanwhile never see half of it."""
    form = await receive_multipart(
        request, file_field="file", staging=state.staging_dir, max_bytes=state.settings.document_max_bytes
    )
    try:
        if form.file is None:
            raise InputError("missing the 'file' part (the document)")
        if form.file.size == 0:
            raise InputError("the uploaded file is empty")
        try:
            fields = DocumentForm.model_validate(form.fields)
        except ValidationError as err:
            raise InputError(
                "invalid form fields", detail=[{"loc": list(e["loc"]), "msg": e["msg"]} for e in err.errors()]
            ) from err
        data = form.file.path.read_bytes()
        filename = (form.file.filename or "document").replace("\\", "/").rsplit("/", 1)[-1]
        content_type = form.file.content_type
    finally:
        form.discard()  # the text goes to the catalogue; the upload itself is not kept
    return await run_in_threadpool(_index, retriever, data, filename, content_type, fields)


@router.get("/v1/documents", response_model=DocumentList, responses=error_responses(401, 429))
def list_documents(principal: PrincipalDep, retriever: RetrieverDep) -> DocumentList:
    """Every indexed document with its chunk count."""
    return DocumentList(items=[d.model_dump(mode="json") for d in retriever().list_documents()])


# Declared before any /v1/documents/{document_id} route, so "flagged" is never taken for a document id.
@router.get(
    "/v1/documents/flagged", response_model=list[FlaggedChunk], responses=error_responses(401, 403, 429)
)
def list_flagged_chunks(principal: AdminDep, retriever: RetrieverDep) -> list[FlaggedChunk]:
    """Chunks that read as instructions to a model (prompt injection), with the rule that flagged each
    (admin). Searches, feedback and the tutor never use them."""
    return retriever().flagged_chunks()


@router.delete("/v1/documents/{document_id}", status_code=204, responses=error_responses(401, 403, 404, 429))
def delete_document(document_id: str, principal: AdminDep, retriever: RetrieverDep) -> Response:
    """Remove a document and its chunks from the catalogue and both indexes (admin); the path takes the
    document id or the slug it was uploaded with."""
    retriever().remove_document(document_id)
    return Response(status_code=204)


@router.get(
    "/v1/search",
    response_model=list[SearchHit],
    tags=["search"],
    responses=error_responses(400, 401, 422, 429),
)
def search(
    principal: PrincipalDep,
    retriever: RetrieverDep,
    settings: SettingsDep,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="The query text.")],
    mode: Annotated[Literal["bm25", "dense", "hybrid", "rerank"], Query()] = "hybrid",
    k: Annotated[int | None, Query(ge=1, le=100)] = None,
    filter: Annotated[
        list[str] | None, Query(description="key=value, repeatable (e.g. author=Matthay).")
    ] = None,
    second_model: Annotated[
        bool | None,
        Query(
            description="hybrid: re-order the top with the second embedding model (default: setting search_second_model)."
        ),
    ] = None,
) -> list[SearchHit]:
    """Ranked passages, the same list `cadenza search --json` prints."""
    if "\x00" in q or any("\x00" in item for item in filter or []):
        raise InputError("the query and the filters may not contain a NUL character")
    filters: dict[str, str] = {}
    for item in filter or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"filter must be key=value, not {item!r}")
        filters[key.strip()] = value.strip()
    use_second = settings.search_second_model if second_model is None else second_model
    return retriever().search(q, mode=mode, k=k, filters=filters or None, second_model=use_second)
