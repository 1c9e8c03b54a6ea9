"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from api.error_handlers import install_error_handler
from api.metrics import LatencyMiddleware
from api.routes import documents, feedback, health, performances, sessions
from api.settings import Settings, get_settings
from api.state import AppState
from api.web import mount_web

log = logging.getLogger("cadenza.api")

DESCRIPTION = """Cadenza scores piano performances on the 19 PercePiano dimensions, retrieves passages from
piano-pedagogy books and writes feedback that cites them.

Send `Authorization: Bearer <key>` (keys: `cadenza keys create --role student|admin`). Every error is
`{"error": {"code", "message", "detail"}}`."""


DOCS_ASSETS = "/docs-assets"


def operation_id(route: APIRoute) -> str:
    """Readable OpenAPI operation ids, what generated clients show: ``performances-create``, ``sessions-list-messages``.

    The route's tag, then its function name without the words that repeat the tag."""
    tag = str(route.tags[0]) if route.tags else "cadenza"
    resource = {tag, tag.rstrip("s")}
    words = [w for w in route.name.split("_") if w not in resource]
    return "-".join([tag, *(words or [route.name])])


def _mount_offline_docs(app: FastAPI) -> None:
    """Swagger UI served from the swagger-ui-bundle package, not a CDN, so /docs renders offline."""
    from swagger_ui_bundle import swagger_ui_path

    app.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Migrations, the job worker and the auth check run at startup (lifespan)."""
    state = AppState(settings or get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(state.startup)
        try:
            yield
        finally:
            await run_in_threadpool(state.shutdown)

    # docs_url/redoc_url off: FastAPI's own pages load their scripts from a CDN (see _mount_offline_docs).
    app = FastAPI(
        title="Cadenza",
        version=_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    app.state.cadenza = state
    install_error_handler(app)
    for router in (health.router, performances.router, feedback.router, sessions.router, documents.router):
        app.include_router(router)
    _mount_offline_docs(app)
    mount_web(app)  # the student page at / (api/web)
    app.add_middleware(LatencyMiddleware, metrics=state.metrics)
    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cadenza")
    except PackageNotFoundError:  # a source tree that is not installed
        return "0+source"
