"""The `rag-eval` console script (retrieval and feedback quality)."""

from __future__ import annotations

import sys

import typer

from api.console import run_app

app = typer.Typer(name="rag-eval", no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)


@app.callback()
def _root() -> None:
    """Measure Cadenza's retrieval and feedback quality."""


def main(argv: list[str] | None = None) -> int:
    from eval import feedback_cli, retrieval_cli

    for module in (retrieval_cli, feedback_cli):
        module.register(app)
    return run_app(app, "rag-eval", argv)


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
