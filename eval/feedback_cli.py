"""`rag-eval feedback`: generation quality over committed score profiles."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add `rag-eval feedback` (filled in by the feedback work)."""
