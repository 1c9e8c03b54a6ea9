"""Scoring worker entry point (docker/Dockerfile.gpu, compose service ``worker``).

Runs the API's persistent job worker without the HTTP server: it claims queued scoring jobs from the
shared database, scores the uploaded audio (read from the shared data home) with the configured
backend (MuQ on GPU in production) and writes the reports back. The API replicas then only queue jobs
(``CADENZA_JOBS_IN_PROCESS=false``). A heartbeat file lets the container health check see a live loop.

    python docker/worker.py            run until SIGTERM / SIGINT
    python docker/worker.py --check    exit 0 if the heartbeat is fresh (health check)
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

HEARTBEAT_EVERY_S = 10.0
STALE_AFTER_S = 60.0
log = logging.getLogger("cadenza.worker")


def heartbeat_path(home: Path) -> Path:
    # One file per container (hostname), inside the data home the worker already writes to.
    return home / "workers" / f"{socket.gethostname()}.alive"


def check(home: Path) -> int:
    path = heartbeat_path(home)
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        print(f"worker: no heartbeat at {path}", file=sys.stderr)
        return 1
    if age > STALE_AFTER_S:
        print(f"worker: heartbeat {age:.0f} s old", file=sys.stderr)
        return 1
    return 0


def run() -> int:
    from api.settings import get_settings
    from api.state import AppState

    settings = get_settings()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    state = AppState(settings)
    state.startup()  # migrations, recovery of interrupted jobs, then the job loop in a thread
    log.info("scoring worker %s started (backend %s)", state.worker.worker_id, settings.scorer_backend)
    beat = heartbeat_path(settings.home)
    beat.parent.mkdir(parents=True, exist_ok=True)
    try:
        while not stop.is_set():
            beat.touch()
            stop.wait(HEARTBEAT_EVERY_S)
    finally:
        log.info("scoring worker stopping")
        state.shutdown()  # a job in progress is left to recovery (requeued or failed explicitly)
        beat.unlink(missing_ok=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 0 if the heartbeat is fresh")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.check:
        return check(Path(os.environ.get("CADENZA_HOME", ".cadenza")).expanduser().resolve())
    return run()


if __name__ == "__main__":
    sys.exit(main())
