"""The `rag-eval` console script (retrieval and feedback quality)."""

from __future__ import annotations

import typer

app = typer.Typer(name="rag-eval", no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)


def run() -> None:
    app()
