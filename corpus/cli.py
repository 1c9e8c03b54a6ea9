"""`cadenza` commands of the corpus package."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this package's commands to the `cadenza` app (filled in by the corpus work)."""
