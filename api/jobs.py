"""The scoring worker: a thread in the API process that runs queued jobs from the persistent job table.

Several processes may run workers on one database: a job is claimed with a conditional UPDATE, so
exactly one worker runs it. A running job carries its worker's id and a heartbeat; a job whose worker
died (same host, process gone) or whose heartbeat went stale is requeued, or failed explicitly once it
has used up its attempts. Nothing stays "running" forever.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from api.components import Components
from api.database import Database
from api.db_models import Job, Performance
from api.earlier_takes import EarlierTake, find_earlier_take
from api.errors import EXPECTED_ERRORS, message_of
from api.metrics import Metrics
from api.settings import Settings

log = logging.getLogger("cadenza.api.jobs")

_HOST = socket.gethostname()


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes even for timezone=True columns; they were stored in UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _process_alive(worker: str | None) -> bool:
    """Whether the worker that claimed a job may still be running it."""
    if not worker:
        return False
    host, _, rest = worker.partition(":")
    pid_text = rest.partition(":")[0]
    if host != _HOST or not pid_text.isdigit():
        return True  # another machine: only its heartbeat can tell
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobWorker:
    def __init__(self, settings: Settings, db: Database, components: Components, metrics: Metrics) -> None:
        self.settings = settings
        self.db = db
        self.components = components
        self.metrics = metrics
        self.worker_id = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.recover_every_s = min(30.0, self.settings.job_stale_after_s / 2)

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self.recover()
        self._thread = threading.Thread(target=self._loop, name="cadenza-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def notify(self) -> None:
        """A job was queued: look now instead of at the next poll."""
        self._wake.set()

    # -- recovery -----------------------------------------------------------------------------
    def recover(self) -> int:
        """Requeue or fail the jobs whose worker is gone; returns how many were touched."""
        stale_before = _now() - timedelta(seconds=self.settings.job_stale_after_s)
        touched = 0
        with self.db.session() as session:
            running = session.scalars(select(Job).where(Job.status == "running")).all()
            for job in running:
                if job.worker == self.worker_id:
                    continue
                heartbeat = _aware(job.heartbeat_at) or _aware(job.started_at) or stale_before
                if _process_alive(job.worker) and heartbeat > stale_before:
                    continue
                touched += 1
                performance = session.get(Performance, job.performance_id)
                if job.attempts >= self.settings.job_max_attempts:
                    message = f"scoring was interrupted {job.attempts} time(s) (server stopped); giving up"
                    job.status, job.error, job.finished_at = "failed", message, _now()
                    if performance is not None:
                        performance.status, performance.error = "failed", message
                    self.metrics.jobs.labels(outcome="interrupted").inc()
                    log.warning("job %s failed after an interruption: %s", job.id, message)
                else:
                    log.warning("job %s was interrupted (worker %s); requeued", job.id, job.worker)
                    job.status, job.worker, job.error = "queued", None, "requeued after an interruption"
                    if performance is not None:
                        performance.status = "queued"
        return touched

    # -- the loop -----------------------------------------------------------------------------
    def _loop(self) -> None:
        last_recover = time.monotonic()
        while not self._stop.is_set():
            try:
                if time.monotonic() - last_recover > self.recover_every_s:
                    self.recover()
                    last_recover = time.monotonic()
                job_id = self.claim_next()
            except Exception:  # the database may be restarting: wait and try again
                log.warning("job worker cannot reach the database; retrying", exc_info=True)
                self._stop.wait(2.0)
                continue
            if job_id is None:
                self._wake.wait(2.0)
                self._wake.clear()
                continue
            self.run(job_id)

    def claim_next(self) -> str | None:
        with self.db.session() as session:
            candidates = session.scalars(
                select(Job.id).where(Job.status == "queued").order_by(Job.created_at).limit(5)
            ).all()
            for job_id in candidates:
                now = _now()
                claimed = cast(
                    CursorResult[Any],
                    session.execute(
                        update(Job)
                        .where(Job.id == job_id, Job.status == "queued")
                        .values(
                            status="running",
                            worker=self.worker_id,
                            attempts=Job.attempts + 1,
                            started_at=now,
                            heartbeat_at=now,
                        )
                        .execution_options(synchronize_session=False)
                    ),
                ).rowcount
                if claimed == 1:
                    session.execute(
                        update(Performance)
                        .where(
                            Performance.id
                            == select(Job.performance_id).where(Job.id == job_id).scalar_subquery()
                        )
                        .values(status="running")
                    )
                    return job_id
        return None

    def _heartbeat(self, job_id: str, done: threading.Event) -> None:
        every = max(1.0, self.settings.job_stale_after_s / 4)
        while not done.wait(every):
            try:
                with self.db.session() as session:
                    session.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=_now()))
            except Exception:
                log.warning("heartbeat for job %s failed", job_id, exc_info=True)

    def run(self, job_id: str) -> None:
        with self.db.session() as session:
            job = session.get(Job, job_id)
            if job is None:
                return  # deleted with its performance meanwhile
            performance = session.get(Performance, job.performance_id)
            if performance is None:
                return
            audio = self.settings.home / performance.audio_path
            source_name = performance.filename
            bars = list(performance.bar_times) if performance.bar_times else None
            score_file = self.settings.home / performance.score_path if performance.score_path else None
            earlier = self._earlier_take(session, performance)
        done = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(job_id, done), daemon=True)
        beat.start()
        start = time.perf_counter()
        report, error, outcome = None, None, "done"
        try:
            from scorer.inference.align import load_score

            score = load_score(score_file, name="the score") if score_file is not None else None
            # the score is optional here: a recording too long to align with it is scored without it
            report = self.components.scorer().score_path(
                audio,
                bars=bars,
                score=score,
                source_name=source_name,
                score_optional=True,
                earlier=earlier.scores if earlier is not None else None,
            )
            if earlier is not None:
                report.compared_with = earlier.performance_id
        except EXPECTED_ERRORS as err:
            error, outcome = message_of(err), "failed"
        except Exception as err:  # a bug or a broken file the scorer did not anticipate
            log.exception("scoring job %s failed", job_id)
            error, outcome = f"scoring failed ({type(err).__name__})", "failed"
        finally:
            done.set()
        self.metrics.scoring_duration.labels(outcome=outcome).observe(time.perf_counter() - start)
        self.metrics.jobs.labels(outcome=outcome).inc()
        self._finish(job_id, report.model_dump(mode="json") if report is not None else None, error)

    @staticmethod
    def _earlier_take(session: Session, performance: Performance) -> EarlierTake | None:
        """The student's earlier take of the same piece for the weak spots; a lookup that fails only loses
        the comparison, never the scoring."""
        try:
            return find_earlier_take(session, performance)
        except Exception:
            log.warning("earlier take of performance %s not looked up", performance.id, exc_info=True)
            return None

    def _finish(self, job_id: str, report: dict | None, error: str | None) -> None:
        for attempt in range(5):  # the database may be restarting right now
            try:
                with self.db.session() as session:
                    job = session.get(Job, job_id)
                    if job is None:
                        return
                    performance = session.get(Performance, job.performance_id)
                    job.status = "failed" if error else "done"
                    job.error, job.finished_at = error, _now()
                    if performance is not None:
                        performance.status = job.status
                        performance.error = error
                        performance.report = report
                return
            except Exception:
                log.warning("cannot record job %s (attempt %d)", job_id, attempt + 1, exc_info=True)
                self._stop.wait(2.0)
