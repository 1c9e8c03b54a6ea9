"""Everything one app instance owns: settings, database, components, metrics, limiter, job worker."""

from __future__ import annotations

import logging
from pathlib import Path

from api.audio_store import STAGING_DIR
from api.auth import RateLimiter, is_loopback
from api.components import Components
from api.database import Database
from api.errors import ConfigError
from api.generations import GenerationLimiter
from api.jobs import JobWorker
from api.metrics import Metrics
from api.settings import Settings
from api.uploads import clear_staging

log = logging.getLogger("cadenza.api")


class AppState:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings)
        self.components = Components(settings)
        self.metrics = Metrics()
        self.limiter = RateLimiter(settings.rate_limit_per_minute)
        self.generations = GenerationLimiter(settings.max_generations, settings.max_generations_per_key)
        self.worker = JobWorker(settings, self.db, self.components, self.metrics)
        self.started = False

    @property
    def staging_dir(self) -> Path:
        return self.settings.home / STAGING_DIR

    def check_auth_mode(self) -> None:
        if self.settings.auth_enabled:
            return
        if not is_loopback(self.settings.api_host):
            raise ConfigError(
                f"auth_enabled=False is allowed only on a loopback address, not {self.settings.api_host!r}"
            )
        log.warning("*" * 72)
        log.warning(
            "AUTHENTICATION IS OFF: every request acts as a local admin (bound to %s only)",
            self.settings.api_host,
        )
        log.warning("*" * 72)

    def startup(self) -> None:
        self.check_auth_mode()
        self.settings.home.mkdir(parents=True, exist_ok=True)
        self.db.migrate()
        # Uploads older than an hour in staging were cut off by a crash (younger ones may be in flight
        # in a sibling worker); `cadenza serve` clears all of them before any worker starts.
        clear_staging(self.staging_dir, older_than_s=3600)
        if self.settings.jobs_in_process:
            self.worker.start()
        else:
            log.info("job worker not started here (jobs_in_process=False): a separate worker scores")
        # In the background: /healthz answers at once, and the web page's first feedback (asked as soon as its
        # upload is scored, seconds later) finds the model loaded instead of paying ~25 s for it.
        self.components.warm_up_feedback()
        self.components.fill_sentence_vectors_in_background()
        self.started = True

    def shutdown(self) -> None:
        self.worker.stop()
        self.components.close()
        self.db.dispose()
