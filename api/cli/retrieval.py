"""`cadenza index`, `cadenza search`, `cadenza documents list|remove|flagged`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from rag.retrieval.errors import QueryError

if TYPE_CHECKING:
    from rag.retrieval.retriever import Retriever
    from rag.retrieval.search import Mode


def _parse_filters(values: list[str] | None) -> dict[str, str]:
    filters: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise QueryError(f"--filter expects key=value, got {item!r}")
        filters[key.strip()] = value.strip()
    return filters


@contextmanager
def _open_retriever() -> Iterator[Retriever]:
    """The retriever over the configured data home, closed when the command is done."""
    from api.settings import get_settings
    from rag.retrieval.retriever import Retriever

    retriever = Retriever.open(get_settings().retrieval_config())
    try:
        yield retriever
    finally:
        retriever.close()


def index(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or folders (txt, md, html, pdf); default: the shared corpus."),
    ] = None,
    manifest: Annotated[
        Path | None, typer.Option(help="TSV with slug, title, author, year, licence, URL per file stem.")
    ] = None,
    rebuild: Annotated[
        bool,
        typer.Option("--rebuild", help="Re-chunk and re-embed every stored document (after a model change)."),
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Index documents (adds new, skips unchanged, replaces changed) and print the counts."""
    import time

    from api.settings import get_settings

    settings = get_settings()
    started = time.perf_counter()
    if rebuild:
        # A catalogue chunked for another model refuses to open normally; rebuild re-chunks it.
        from rag.retrieval.rebuild import rebuild_all

        report = rebuild_all(settings.retrieval_config(), progress=progress)
    else:
        if not paths:
            paths = [settings.corpus_dir]
            manifest = manifest or (settings.corpus_manifest if settings.corpus_manifest.is_file() else None)
        with _open_retriever() as retriever:
            report = retriever.index_paths(paths, manifest=manifest, progress=progress)
    print(
        f"documents: {report.added} added, {report.skipped} skipped, {report.replaced} replaced; "
        f"chunks: {report.chunks_added} added, {report.chunks_removed} removed "
        f"({time.perf_counter() - started:.1f} s)"
    )


def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    mode: Annotated[str, typer.Option(help="bm25 | dense | hybrid | rerank")] = "hybrid",
    k: Annotated[int | None, typer.Option("-k", "--k", help="Number of passages.")] = None,
    filter_: Annotated[
        list[str] | None,
        typer.Option("--filter", help="key=value: source, author, composer, technique, source_type"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the hits as JSON.")] = False,
    second_model: Annotated[
        bool | None,
        typer.Option(
            "--second-model/--no-second-model",
            help="hybrid: re-order the top with the second embedding model (default: setting search_second_model).",
        ),
    ] = None,
) -> None:
    """Search the indexed pedagogy passages."""
    filters = _parse_filters(filter_)
    if not query.strip():
        raise QueryError("the query is empty")
    with _open_retriever() as retriever:
        use_second = retriever.config.search_second_model if second_model is None else second_model
        # any string: the retriever refuses an unknown mode with a QueryError (one line, exit 2)
        hits = retriever.search(query, mode=cast("Mode", mode), k=k, filters=filters, second_model=use_second)
    if as_json:
        print(json.dumps([h.model_dump() for h in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        print("no passages found")
    for hit in hits:
        where = f"{hit.source.title}" + (f" — {hit.section}" if hit.section else "")
        author = f"{hit.source.author}, " if hit.source.author else ""
        print(
            f"[{hit.rank}] {hit.score:.4f}  {author}{where}  ({hit.chunk_id}, chars {hit.char_start}-{hit.char_end})"
        )
        print("    " + " ".join(hit.text.split())[:400])


documents_app = typer.Typer(help="List, review or remove indexed documents.", no_args_is_help=True)


@documents_app.command("list")
def documents_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List indexed documents."""
    with _open_retriever() as retriever:
        documents = retriever.list_documents()
    if as_json:
        print(json.dumps([d.model_dump() for d in documents], ensure_ascii=False, indent=2))
        return
    for d in documents:
        print(f"{d.document_id}\t{d.n_chunks} chunks\t{d.author or '-'}\t{d.title}")
    print(f"{len(documents)} documents")


@documents_app.command("flagged")
def documents_flagged(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the chunks that read as instructions to a model (prompt injection): searches, feedback and the
    tutor never use them. Remove or fix the document to clear them."""
    with _open_retriever() as retriever:
        flagged = retriever.flagged_chunks()
    if as_json:
        print(json.dumps([c.model_dump() for c in flagged], ensure_ascii=False, indent=2))
        return
    for c in flagged:
        print(f"{c.chunk_id}	{c.reason}	{' '.join(c.text.split())[:100]}")
    print(f"{len(flagged)} flagged chunks")


@documents_app.command("remove")
def documents_remove(
    document_id: Annotated[str, typer.Argument(help="Document id or slug (see `documents list`).")],
) -> None:
    """Remove a document from the catalogue and from every index."""
    with _open_retriever() as retriever:
        retriever.remove_document(document_id)
    print(f"removed {document_id}")


def register(app: typer.Typer) -> None:
    app.command("index")(index)
    app.command("search")(search)
    app.add_typer(documents_app, name="documents")
