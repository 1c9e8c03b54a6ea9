"""`rag-eval run`: retrieval quality, stage by stage, on span, Hofmann, BEIR or TREC judgements."""

from __future__ import annotations

import datetime as dt
import shlex
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.errors import InputError
from api.settings import Settings, get_settings

if TYPE_CHECKING:
    from eval.judgements import EvalSet
    from eval.runner import BackendFactory, SystemRun, SystemSpec


def _default_systems(fmt: str, has_reranker: bool) -> list[str]:
    systems = ["bm25", "dense", "hybrid"] + (["rerank"] if has_reranker else [])
    if fmt in ("spans", "hofmann"):
        systems += ["naive/bm25", "naive/dense", "naive/hybrid"]
    return systems


def run_command(
    qrels: Annotated[
        Path,
        typer.Option("--qrels", help="Judgements: span JSONL, Hofmann JSONL, BEIR folder or TREC qrels."),
    ],
    fmt: Annotated[
        str | None, typer.Option("--format", help="spans|hofmann|beir|trec (default: detected).")
    ] = None,
    corpus: Annotated[
        Path | None,
        typer.Option("--corpus", help="Index this folder in a temporary home (else: the live index)."),
    ] = None,
    systems: Annotated[
        str | None,
        typer.Option(
            "--systems",
            help="Comma list of MODE or CONFIG/MODE (modes bm25,dense,hybrid,rerank; config 'naive' = the baseline).",
        ),
    ] = None,
    config: Annotated[
        list[str] | None,
        typer.Option("--config", help="Named configuration NAME:setting=value,... (repeatable)."),
    ] = None,
    queries: Annotated[
        Path | None,
        typer.Option("--queries", help="Queries file for TREC qrels (TSV qid<TAB>text or JSONL)."),
    ] = None,
    split: Annotated[
        Path | None,
        typer.Option(
            "--split",
            help="tune/check split JSON (default: the committed dev split when it covers the queries).",
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the first N queries (smoke runs).")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the JSON report here.")] = None,
    markdown_out: Annotated[
        Path | None, typer.Option("--markdown", help="Write a Markdown report here.")
    ] = None,
    plot_out: Annotated[
        Path | None, typer.Option("--plot", help="Write a PNG bar chart with CI whiskers here.")
    ] = None,
    rankings_out: Annotated[
        Path | None,
        typer.Option("--rankings", help="Write every depth-100 ranking as JSONL (offline analysis)."),
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bars on stderr.")
    ] = True,
) -> None:
    """Evaluate retrieval systems side by side: nDCG@10, Recall@5/10/20, MRR@10, MAP@100, CIs, significance."""
    from eval.loaders import load_judgements
    from eval.report import build_report, markdown, plot, table, write_json, write_rankings
    from eval.runner import make_backend_factory

    # A SIGTERM unwinds like Ctrl-C, so the temporary index is removed (the `finally` in the runner).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if fmt is not None and fmt not in ("spans", "hofmann", "beir", "trec"):
        raise InputError(f"--format must be spans, hofmann, beir or trec, not {fmt!r}")
    settings = get_settings()
    if corpus is not None and not corpus.is_dir():
        raise InputError(f"--corpus {corpus}: not a folder")
    corpus_dir = corpus.resolve() if corpus else None
    evalset = load_judgements(qrels, fmt=fmt, corpus_dir=corpus_dir or settings.corpus_dir, queries=queries)  # type: ignore[arg-type]
    if limit:
        evalset.queries = evalset.queries[:limit]

    configs, specs = _systems(settings, evalset.format, systems, config)
    parts = _split_parts(evalset, split)
    build = make_backend_factory(
        evalset, corpus_dir=corpus_dir, cache_dir=settings.resolved_embedding_cache_dir, progress=progress
    )
    runs = _run_with_progress(evalset, specs, configs, build, progress)
    report = build_report(evalset, runs, parts=parts, meta=_meta(settings, corpus, config))
    typer.echo(table(report))
    if json_out:
        write_json(report, json_out)
    if markdown_out:
        markdown_out.parent.mkdir(parents=True, exist_ok=True)
        markdown_out.write_text(markdown(report), encoding="utf-8")
    if plot_out:
        plot(report, plot_out)
    if rankings_out:
        write_rankings(runs, rankings_out)


def _systems(
    settings: Settings, fmt: str, systems: str | None, config: list[str] | None
) -> tuple[dict[str, Settings], list[SystemSpec]]:
    """The named configurations (default, naive, each --config) and the systems to run, checked."""
    from eval.runner import DEFAULT, NAIVE, SystemSpec, configured_settings, parse_overrides

    configs = {DEFAULT: settings, NAIVE: settings}
    for text in config or []:
        name, overrides = parse_overrides(text)
        configs[name] = configured_settings(settings, overrides)
    names = systems.split(",") if systems else _default_systems(fmt, settings.reranker_model is not None)
    specs = [SystemSpec.parse(n) for n in names if n.strip()]
    if not specs:
        raise InputError("--systems is empty")
    for spec in specs:
        if spec.config not in configs:
            raise InputError(
                f"system {spec.name!r}: no configuration {spec.config!r} (define it with --config)"
            )
    if len({s.name for s in specs}) != len(specs):
        raise InputError("--systems names a system twice")
    return configs, specs


def _split_parts(evalset: EvalSet, split: Path | None) -> dict[str, str] | None:
    """tune/check part of each query: the --split file, else the committed dev split when it covers them."""
    from eval.split import SPLIT_FILE, load_split

    split_path = split or (SPLIT_FILE if SPLIT_FILE.is_file() else None)
    if split_path is None:
        return None
    assignment = load_split(split_path)
    if all(q.query_id in assignment for q in evalset.queries):
        return {q.query_id: assignment[q.query_id] for q in evalset.queries}
    if split is not None:
        raise InputError(f"--split {split}: does not cover every query id")
    return None


def _run_with_progress(
    evalset: EvalSet,
    specs: list[SystemSpec],
    configs: dict[str, Settings],
    build: BackendFactory,
    progress: bool,
) -> list[SystemRun]:
    from eval.runner import run_systems

    bar = None
    if progress:
        from tqdm import tqdm

        n_configs = len({s.config for s in specs})
        bar = tqdm(
            total=len(evalset.queries) * n_configs, desc="rag-eval: queries", unit="q", file=sys.stderr
        )
    try:
        return run_systems(evalset, specs, configs, build, on_query=bar.update if bar else None)
    finally:
        if bar:
            bar.close()


def _meta(settings: Settings, corpus: Path | None, config: list[str] | None) -> dict[str, object]:
    """What the report records about the run: command, date, corpus, configurations, retrieval settings."""
    from eval.runner import parse_overrides

    return {
        "command": "rag-eval " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "corpus": str(corpus) if corpus else f"live index at {settings.home}",
        "configs": {name: overrides for name, overrides in (parse_overrides(t) for t in config or [])},
        "settings": {
            k: str(v)
            for k, v in settings.model_dump().items()
            if k
            in (
                "embedding_model",
                "reranker_model",
                "chunk_tokens",
                "chunk_overlap",
                "bm25_backend",
                "rrf_k",
                "candidates_per_retriever",
                "rerank_candidates",
                "vector_backend",
                "context_header",
                "rescore",
                "rescore_weight_bm25",
                "rescore_weight_sentence",
                "rescore_model",
                "rescore_model_weight",
                "rescore_model_candidates",
            )
        },
    }


def register(app: typer.Typer) -> None:
    """Add `rag-eval run`."""
    app.command("run")(run_command)
