"""`rag-eval run`: retrieval quality, stage by stage."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add `rag-eval run` (filled in by the rag-eval work)."""
