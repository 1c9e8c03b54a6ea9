"""Alembic environment: one history for every table on ``corpus.db.Base`` (service and catalogue).

Cadenza passes an open connection in ``config.attributes["connection"]`` (api/database.py); the
``alembic`` command line falls back to the settings' database URL.
"""

from __future__ import annotations

from alembic import context

import api.db_models  # noqa: F401  (registers the service tables on Base.metadata)
import corpus.models  # noqa: F401  (and the catalogue tables)
from corpus.db import Base, make_engine

target_metadata = Base.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place: batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from api.settings import get_settings

    engine = make_engine(get_settings().resolved_database_url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()
