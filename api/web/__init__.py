"""The student web page: static files served by the API, plus the bundled example recording.

The page is plain HTML/CSS/ES modules under ``static/`` (no build step, no CDN: it must work offline).
``mount_web(app)`` is called once by the API's app factory. The example recording is third-party data
(PercePiano, MIT): it is read in place from ``settings.percepiano_dir / "examples"``, never copied.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from api.errors import NotFound
from api.settings import Settings, get_settings
from scorer.dimensions import DIMENSIONS

__all__ = ["STATIC_DIR", "DimensionInfo", "ExampleInfo", "dimension_table", "list_examples", "mount_web"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
# Formats the page can both upload and play back in a browser audio element.
EXAMPLE_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


class ExampleInfo(BaseModel):
    name: str
    url: str
    size_bytes: int


class DimensionInfo(BaseModel):
    """One row of the dimension table, as the page needs it to draw and word the scales."""

    index: int
    name: str
    label: str
    group: str
    low_pole: str
    high_pole: str
    kind: str
    desirable: str | None


def dimension_table() -> list[DimensionInfo]:
    # Served rather than duplicated in JavaScript, so the page cannot drift from scorer/dimensions.py.
    return [
        DimensionInfo(
            index=d.index,
            name=d.name,
            label=d.label,
            group=d.group,
            low_pole=d.low_pole,
            high_pole=d.high_pole,
            kind=d.kind,
            desirable=d.desirable,
        )
        for d in DIMENSIONS
    ]


def _settings(request: Request) -> Settings:
    # The app's own Settings (the API keeps them on app.state.cadenza; tests on app.state.settings),
    # else the process-wide ones.
    state = request.app.state
    cadenza = getattr(state, "cadenza", None)
    return getattr(cadenza, "settings", None) or getattr(state, "settings", None) or get_settings()


def list_examples(settings: Settings) -> list[ExampleInfo]:
    """Example recordings found under the PercePiano folder (none if the folder is absent)."""
    folder = settings.percepiano_dir / "examples"
    if not folder.is_dir():
        return []
    return [
        ExampleInfo(name=p.name, url=f"/examples/{p.name}", size_bytes=p.stat().st_size)
        for p in sorted(folder.iterdir())
        if p.is_file() and p.suffix.lower() in EXAMPLE_SUFFIXES
    ]


def mount_web(app: FastAPI) -> None:
    """Serve the page at ``/``, its assets at ``/static``, the dimension table at ``/dimensions`` and the
    example recordings at ``/examples``. Call it once from the app factory."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        # no-cache: a redeployed page must not run against a stale app.js from the browser cache.
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/dimensions", response_model=list[DimensionInfo], tags=["web"])
    def dimensions() -> list[DimensionInfo]:
        """The 19 PercePiano dimensions: poles, group, quality or character scale, desirable side."""
        return dimension_table()

    @app.get("/examples", response_model=list[ExampleInfo], tags=["web"])
    def examples(request: Request) -> list[ExampleInfo]:
        """Bundled example recordings the page offers instead of an upload."""
        return list_examples(_settings(request))

    @app.get("/examples/{name}", response_class=FileResponse, tags=["web"])
    def example_file(name: str, request: Request) -> FileResponse:
        """One example recording. Only names from the listing are served (no path is built from input)."""
        for example in list_examples(_settings(request)):
            if example.name == name:
                path = _settings(request).percepiano_dir / "examples" / example.name
                return FileResponse(path, filename=example.name)
        raise NotFound(f"no example recording named {name!r}")
