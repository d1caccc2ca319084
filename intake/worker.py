"""The delivery worker: claims due outbox jobs, hands each to its channel, records the outcome.

Crash and restart: a job is claimed with a lease (INTAKE_JOB_LEASE_SECONDS). If the worker
dies mid-job, the job stays `running` until the lease runs out, and then any worker takes it
again, so it is delivered at least once (an e-mail may arrive twice, with the same
Message-ID). SIGTERM sets the stop flag: the job in hand is finished and recorded first.
A database that goes away (a PostgreSQL restart) is waited out, not fatal.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterable

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from intake.delivery import Channel, PermanentDeliveryError, TransientDeliveryError
from intake.extension import current_intake
from intake.mail import MailChannel
from intake.models import DeliveryJob, utcnow
from intake.outbox import RetryPolicy, claim, mark_done, mark_failed

log = logging.getLogger(__name__)


def default_channels() -> list[Channel]:
    return [MailChannel()]


class Worker:
    def __init__(
        self, app: Flask, channels: Iterable[Channel] | None = None, worker_id: str | None = None
    ) -> None:
        config = app.config
        self.app = app
        self.channels = {
            c.kind: c for c in (channels if channels is not None else default_channels())
        }
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.policy = RetryPolicy(
            base_seconds=float(config["INTAKE_RETRY_BASE_SECONDS"]),
            max_seconds=float(config["INTAKE_RETRY_MAX_SECONDS"]),
            max_attempts=int(config["INTAKE_MAX_ATTEMPTS"]),
        )
        self.lease_seconds = float(config["INTAKE_JOB_LEASE_SECONDS"])
        self.poll_seconds = float(config["INTAKE_WORKER_POLL_SECONDS"])
        self._stop = threading.Event()

    def stop(self) -> None:
        """Finish the job in hand, then return from `run`."""
        self._stop.set()

    def run(self) -> None:
        """Deliver until stopped, polling every INTAKE_WORKER_POLL_SECONDS when idle."""
        log.info("Worker %s started (channels: %s)", self.worker_id, ", ".join(self.channels))
        while not self._stop.is_set():
            try:
                tried = self.run_once()
            except SQLAlchemyError as error:
                log.warning("Database unavailable, waiting: %s", error.__class__.__name__)
                tried = 0
            if not tried:
                self._stop.wait(self.poll_seconds)
        log.info("Worker %s stopped", self.worker_id)

    def run_once(self, max_jobs: int | None = None) -> int:
        """Deliver the jobs due now, one by one; returns how many were tried. A job that fails
        is not tried again in the same pass, however short its backoff."""
        tried = 0
        started = utcnow()
        with self.app.app_context():
            sessionmaker = current_intake().database.sessionmaker
            while not self._stop.is_set() and (max_jobs is None or tried < max_jobs):
                with sessionmaker() as session:
                    jobs = claim(
                        session,
                        self.channels,
                        worker_id=self.worker_id,
                        lease_seconds=self.lease_seconds,
                        due_by=started,
                    )
                    if not jobs:
                        break
                    self._deliver(session, jobs[0])
                tried += 1
        return tried

    def _deliver(self, session: Session, job: DeliveryJob) -> None:
        what = (
            f"{job.kind.value}/{job.target.value} for {job.submission.reference} "
            f"(job {job.id}, try {job.attempts})"
        )
        try:
            external_id = self.channels[job.kind].deliver(job, session)
        except PermanentDeliveryError as error:
            session.rollback()
            log.error("Gave up %s: %s", what, error)
            mark_failed(session, job, self.worker_id, str(error), retry_at=None)
        except Exception as error:  # a bug in a channel must not lose the job either
            session.rollback()
            if not isinstance(error, TransientDeliveryError):
                log.exception("Unexpected error in %s", what)
            retry_at = self.policy.next_attempt(job.attempts, utcnow())
            message = str(error) or error.__class__.__name__
            if retry_at is None:
                log.error("Gave up %s after %d tries: %s", what, job.attempts, message)
            else:
                log.warning("Will retry %s at %s: %s", what, retry_at.isoformat(), message)
            mark_failed(session, job, self.worker_id, message, retry_at=retry_at)
        else:
            if mark_done(session, job, self.worker_id, external_id):
                log.info("Delivered %s (%s)", what, external_id)
            else:
                log.warning("Delivered %s, but its lease had passed to another worker", what)
