"""`cadenza feedback`: the main job (score → retrieve → generate → check citations)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add `cadenza feedback` (filled in by the feedback work)."""
