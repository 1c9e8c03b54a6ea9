"""The `rag-eval` console script (retrieval and feedback quality)."""

from __future__ import annotations

import sys

import typer

from api.errors import CadenzaError

app = typer.Typer(name="rag-eval", no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)


@app.callback()
def _root() -> None:
    """Measure Cadenza's retrieval and feedback quality."""


def main(argv: list[str] | None = None) -> int:
    from eval import feedback_cli, retrieval_cli

    for module in (retrieval_cli, feedback_cli):
        module.register(app)
    try:
        app(args=argv, standalone_mode=False)
    except CadenzaError as err:
        print(f"rag-eval: error: {err.message}", file=sys.stderr)
        return 2
    except SystemExit as exit_:
        return int(exit_.code or 0)
    except Exception as err:
        import click

        if isinstance(err, click.exceptions.ClickException):
            err.show()
            return err.exit_code
        raise
    return 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
