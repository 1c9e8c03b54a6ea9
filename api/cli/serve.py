"""`cadenza serve` and `cadenza keys create|revoke|list`."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from api.database import Database

keys_app = typer.Typer(help="Manage API keys (stored hashed; the key is shown once).", no_args_is_help=True)


def _database() -> Database:
    from api.database import Database
    from api.settings import get_settings

    db = Database(get_settings())
    get_settings().home.mkdir(parents=True, exist_ok=True)
    db.migrate()
    return db


@keys_app.command("create")
def keys_create(
    role: Annotated[
        str, typer.Option(help="student (own performances, feedback, sessions) or admin.")
    ] = "student",
    name: Annotated[str | None, typer.Option(help="A label to recognise the key by in `keys list`.")] = None,
) -> None:
    """Create a key and print only the key on stdout (its id goes to stderr)."""
    from api.auth import create_key

    db = _database()
    with db.session() as session:
        row, plain = create_key(session, role=role, name=name)
        key_id = row.id
    db.dispose()
    typer.echo(f"created {role} key {key_id}", err=True)
    print(plain)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id from `cadenza keys list`.")]) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    from api.auth import revoke_key

    db = _database()
    with db.session() as session:
        revoke_key(session, key_id)
    db.dispose()
    typer.echo(f"revoked {key_id}", err=True)


@keys_app.command("list")
def keys_list(
    json_out: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """List keys (id, role, name, created, revoked); never the keys themselves."""
    import json

    from api.auth import list_keys

    db = _database()
    with db.session() as session:
        rows: list[dict[str, Any]] = [
            {
                "id": r.id,
                "role": r.role,
                "name": r.name,
                "created_at": r.created_at.isoformat(),
                "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
            }
            for r in list_keys(session)
        ]
    db.dispose()
    for row in rows:
        if json_out:
            print(json.dumps(row))
        else:
            print(
                f"{row['id']}  {row['role']:<7}  {row['created_at'][:19]}  "
                f"{'revoked ' + row['revoked_at'][:19] if row['revoked_at'] else 'active':<27}  {row['name'] or ''}"
            )


def serve(
    host: Annotated[
        str | None, typer.Option(help="Bind address (default: settings.api_host, 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: settings.api_port, 8000).")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: settings.api_workers).")
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Run the REST service (OpenAPI at /docs)."""
    import uvicorn

    from api.audio_store import STAGING_DIR
    from api.settings import get_settings
    from api.state import AppState
    from api.uploads import clear_staging

    # The workers build their settings from the environment: pass the command-line choices that way.
    for name, value in (("API_HOST", host), ("API_PORT", port), ("API_WORKERS", workers)):
        if value is not None:
            os.environ[f"CADENZA_{name}"] = str(value)
    get_settings.cache_clear()
    settings = get_settings()
    logging.getLogger("cadenza").setLevel(logging.INFO)
    # Once, before any worker starts: schema up to date, uploads cut off by a crash removed.
    AppState(settings).check_auth_mode()
    _database().dispose()
    removed = clear_staging(settings.home / STAGING_DIR)
    if removed:
        logging.getLogger("cadenza.api").warning("removed %d partial upload(s) left by a crash", removed)
    from rag.retrieval.rebuild import rebuild_if_model_changed

    # An index built with another embedding model: rebuilt once here, before the workers open it.
    rebuild_if_model_changed(
        settings.retrieval_config(), progress=True, notice=logging.getLogger("cadenza.api").warning
    )
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=settings.api_host,
        port=settings.api_port,
        workers=settings.api_workers,
        log_level=log_level,
        timeout_graceful_shutdown=10,
    )


def register(app: typer.Typer) -> None:
    """Add the API's commands to the `cadenza` app."""
    app.command("serve")(serve)
    app.add_typer(keys_app, name="keys")
