"""The one entry helper of Cadenza's console scripts (`cadenza`, `rag-eval`): run a typer app and turn every
expected error, whatever package raised it, into one line on stderr and exit status 2."""

from __future__ import annotations

import sys

import typer

from api.errors import EXPECTED_ERRORS, message_of


def run_app(app: typer.Typer, prog: str, argv: list[str] | None = None) -> int:
    try:
        app(args=argv, standalone_mode=False)
    except EXPECTED_ERRORS as err:
        print(f"{prog}: error: {message_of(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exit_:  # typer raises this for --help and usage errors
        return int(exit_.code or 0)
    except Exception as err:  # click usage errors and similar
        import click

        if isinstance(err, click.exceptions.ClickException):
            err.show()
            return err.exit_code
        if isinstance(err, click.exceptions.Abort):
            return 130
        raise
    return 0
