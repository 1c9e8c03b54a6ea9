"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
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

    app = FastAPI(title="Cadenza", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.cadenza = state
    install_error_handler(app)
    for router in (health.router, performances.router, feedback.router, sessions.router, documents.router):
        app.include_router(router)
    mount_web(app)  # the student page at / (api/web)
    app.add_middleware(LatencyMiddleware, metrics=state.metrics)
    return app
