"""The service database: engine, sessions and Alembic migrations (applied at startup)."""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from api.errors import ServiceUnavailable
from api.settings import Settings
from corpus.db import make_engine, session_factory

log = logging.getLogger("cadenza.api")

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")
# Any fixed number: serialises migrations when several workers or replicas start at once (Postgres).
_PG_MIGRATION_LOCK = 0x0CAD_E17A


def alembic_config() -> Config:
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(ALEMBIC_INI.with_name("migrations")))
    return config


def migrate(engine: Engine, *, lock_dir: Path | None = None) -> None:
    """Bring the schema to the newest revision; safe to call from several processes at once."""
    config = alembic_config()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            # Transaction-scoped: released at commit, after the DDL (Postgres DDL is transactional).
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        return
    lock_path = (lock_dir or Path("/tmp")) / ".cadenza-migrate.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")


class Database:
    """Engine + session factory for one settings object."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.resolved_database_url
        self.engine: Engine = make_engine(self.url)
        self.sessions: sessionmaker[Session] = session_factory(self.engine)

    def migrate(self) -> None:
        migrate(self.engine, lock_dir=self.settings.home)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except OperationalError as err:
                session.rollback()
                raise ServiceUnavailable("database unavailable", detail=type(err.orig).__name__) from err
            except BaseException:
                session.rollback()
                raise

    def ping(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as err:
            raise ServiceUnavailable("database unavailable") from err

    def dispose(self) -> None:
        self.engine.dispose()
