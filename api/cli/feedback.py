"""`cadenza feedback`: the main job (score → retrieve → generate → check citations)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rag.generation.errors import FeedbackInputError, GenerationConfigError

if TYPE_CHECKING:
    from api.settings import Settings
    from rag.job import FeedbackJob
    from rag.retrieval.retriever import Retriever
    from scorer.inference.service import Scorer


def load_scores(path: Path):
    """A scorer report from `cadenza score --json` (or a whole `cadenza feedback --json` output)."""
    from pydantic import ValidationError

    from scorer.schema import ScoreReport

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FeedbackInputError(f"cannot read scores JSON {path.name}: {err}") from err
    if isinstance(data, dict) and "performance" in data:
        data = data["performance"]
    try:
        return ScoreReport.model_validate(data)
    except ValidationError as err:
        raise FeedbackInputError(f"{path.name} is not a scorer report: {err.errors()[0]['msg']}") from err


def open_retriever(settings: Settings, *, progress: bool) -> Retriever:
    """The retriever, indexing the shared corpus first if the catalogue is empty (first run)."""
    from rag.retrieval.rebuild import rebuild_if_model_changed
    from rag.retrieval.retriever import Retriever

    config = settings.retrieval_config()
    # An index built with another embedding model is rebuilt here (one-line notice), not refused.
    rebuild_if_model_changed(config, progress=progress, notice=lambda line: print(line, file=sys.stderr))
    retriever = Retriever.open(config)
    if not retriever.list_documents():
        paths = sorted(settings.corpus_dir.glob("*.txt"))
        if not paths:
            raise GenerationConfigError(
                f"the catalogue is empty and no corpus was found at {settings.corpus_dir}"
            )
        if progress:
            print(f"First run: indexing {len(paths)} books from {settings.corpus_dir} …", file=sys.stderr)
        # Sentence vectors are left to the searches that rank each chunk: a first run waits minutes less.
        retriever.index_paths(
            paths, manifest=settings.corpus_manifest, progress=progress, sentence_vectors=False
        )
    return retriever


@contextmanager
def feedback_job(settings: Settings, *, progress: bool) -> Iterator[FeedbackJob]:
    """The feedback job over the scorer and the shared-corpus retriever, each built on first need (a recording
    is scored before the corpus is opened, or indexed on a first run); the retriever is closed at the end."""
    from rag.job import FeedbackJob

    opened: list[Retriever] = []

    def retriever() -> Retriever:
        opened.append(open_retriever(settings, progress=progress))
        return opened[-1]

    def scorer() -> Scorer:
        from scorer.inference.service import Scorer

        return Scorer.load(settings.scorer_config())

    try:
        yield FeedbackJob(settings.generation_config(), retriever, scorer=scorer)
    finally:
        for r in opened:
            r.close()


def render_text(report, result) -> str:
    from rag.generation.dimension_words import grade, plain_name, quality_by_goodness, spots_for

    lines = [f"Recording: {report.source or '-'} ({report.duration_s:.0f} s, scorer {report.backend})", ""]
    lines.append("Quality scales (weakest first):")
    for d in quality_by_goodness(report):
        where = spots_for(report, d.name)
        lines.append(f"  {plain_name(d.name):<28} {grade(d):<14}{'  weak at ' + where if where else ''}")
    lines += [
        "",
        f"Feedback ({result.generator}{', ' + result.model if result.model else ''}):",
        "",
        result.text,
        "",
    ]
    if result.citations:
        lines.append("Sources:")
        for c in result.citations:
            who = f" — {c.author}" if c.author else ""
            when = f" ({c.year})" if c.year else ""
            where = f", {c.section}" if c.section else ""
            check = "" if c.supported is None else ("  [supported]" if c.supported else "  [weak support]")
            lines.append(f"  [{c.n}] {c.title}{who}{when}{where}, chars {c.char_start}–{c.char_end}{check}")
            if c.url:
                lines.append(f"      {c.url}")
    if result.invalid_markers:
        lines.append(f"Removed citations to sources that were not given: {', '.join(result.invalid_markers)}")
    if result.llm_error:
        lines.append(f"(The LLM answer was replaced by cited fallback feedback: {result.llm_error})")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    @app.command()
    def feedback(
        recording: Annotated[Path | None, typer.Argument(help="Audio or MIDI file to score.")] = None,
        scores: Annotated[
            Path | None, typer.Option(help="Use a scorer report (JSON) instead of scoring a recording.")
        ] = None,
        piece: Annotated[
            str | None, typer.Option(help="Piece title, used for retrieval and the prompt.")
        ] = None,
        composer: Annotated[str | None, typer.Option(help="Composer.")] = None,
        level: Annotated[str | None, typer.Option(help="Student level, e.g. 'beginner', 'advanced'.")] = None,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print the JSON contract instead of text.")
        ] = False,
        score_midi: Annotated[
            Path | None,
            typer.Option(
                "--score",
                help="The piece's score as MIDI: weak spots get bar numbers and timing is judged against "
                "the notation.",
            ),
        ] = None,
    ) -> None:
        """Score a recording and write teacher feedback that cites piano-pedagogy books."""
        from api.settings import get_settings

        settings = get_settings()
        report = notated = None
        if scores is not None:
            if score_midi is not None:
                raise FeedbackInputError(
                    "--score needs a RECORDING to align (a saved report already has its bars)"
                )
            report = load_scores(scores)
        elif recording is not None:
            if not recording.is_file():
                raise FeedbackInputError(f"no such file: {recording}")
            from scorer.inference.align import load_score

            notated = load_score(score_midi) if score_midi is not None else None  # a bad score fails first
        else:
            raise FeedbackInputError("give a RECORDING (audio or MIDI) or --scores FILE.json")

        with feedback_job(settings, progress=not as_json or sys.stderr.isatty()) as job:
            outcome = job.run(
                recording=recording if report is None else None,
                report=report,
                score=notated,
                piece=piece,
                composer=composer,
                level=level,
            )
        if as_json:
            print(json.dumps(outcome.payload(), ensure_ascii=False, indent=2))
        else:
            print(render_text(outcome.report, outcome.feedback))
