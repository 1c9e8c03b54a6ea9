"""`cadenza serve` and `cadenza keys`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the API's commands to the `cadenza` app (filled in by the REST service work)."""
