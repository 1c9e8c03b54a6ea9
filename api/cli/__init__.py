"""The `cadenza` console script. Each package registers its own commands; this module only wires
them together and turns Cadenza errors into one line on stderr with a non-zero exit."""

from __future__ import annotations

import logging
import sys

import typer

from api.console import run_app

app = typer.Typer(
    name="cadenza",
    help="Cadenza: piano-performance feedback (scoring, pedagogy retrieval, cited feedback).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Cadenza: piano-performance feedback (scoring, pedagogy retrieval, cited feedback)."""


@app.command()
def version() -> None:
    """Print Cadenza's version."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        print(package_version("cadenza"))
    except PackageNotFoundError:  # running from a source tree that is not installed
        print("0.1.0 (source tree)")


def _register_all() -> None:
    # Imported here so that `cadenza --help` stays fast: heavy imports live inside the commands.
    from api.cli import corpus as corpus_cli
    from api.cli import feedback as feedback_cli
    from api.cli import retrieval as rag_cli
    from api.cli import scorer as scorer_cli
    from api.cli import serve as api_commands

    for module in (corpus_cli, rag_cli, feedback_cli, scorer_cli, api_commands):
        module.register(app)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _register_all()
    return run_app(app, "cadenza", argv)


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
