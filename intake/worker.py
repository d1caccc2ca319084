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
from typing import Any

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from intake.delivery import Channel, DeliveryError, PermanentDeliveryError
from intake.extension import current_intake
from intake.mail import MailChannel
from intake.models import DeliveryJob, JobKind, utcnow
from intake.outbox import RetryPolicy, claim, mark_done, mark_failed

log = logging.getLogger(__name__)


def default_channels(app: Flask) -> list[Channel]:
    """Salesforce first, so that the e-mails sent after it can link to the lead; without
    Salesforce credentials its jobs wait (and /healthz shows them)."""
    from crm_sync.channel import SalesforceChannel

    salesforce = app.extensions["intake"].salesforce
    if salesforce is None:
        log.warning("Salesforce is not configured (no SALESFORCE_ credentials): CRM jobs wait")
        return [MailChannel()]
    return [SalesforceChannel(salesforce), MailChannel()]


class Worker:
    def __init__(
        self, app: Flask, channels: Iterable[Channel] | None = None, worker_id: str | None = None
    ) -> None:
        config = app.config
        self.app = app
        chosen = list(channels) if channels is not None else default_channels(app)
        self.channels: dict[JobKind, Channel] = {channel.kind: channel for channel in chosen}
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
            for kind, channel in self.channels.items():
                batch_size = getattr(channel, "batch_size", 1)
                while not self._stop.is_set() and (max_jobs is None or tried < max_jobs):
                    with sessionmaker() as session:
                        jobs = claim(
                            session,
                            [kind],
                            worker_id=self.worker_id,
                            lease_seconds=self.lease_seconds,
                            limit=batch_size,
                            due_by=started,
                        )
                        if not jobs:
                            break
                        if batch_size > 1:
                            self._deliver_batch(session, channel, jobs)
                        else:
                            self._deliver(session, jobs[0])
                    tried += len(jobs)
        return tried

    def _deliver_batch(self, session: Session, channel: Any, jobs: list[DeliveryJob]) -> None:
        """A channel that sends several jobs in one request reports each job's outcome."""
        try:
            outcomes = channel.deliver_batch(jobs, session)
        except Exception as error:  # a bug in a channel must not lose the jobs either
            session.rollback()
            log.exception("Unexpected error delivering %d %s job(s)", len(jobs), channel.kind)
            outcomes = {job.id: error for job in jobs}
        for job in jobs:
            self._record(session, job, outcomes[job.id])
        session.commit()  # one commit for the batch's outcomes

    def _deliver(self, session: Session, job: DeliveryJob) -> None:
        try:
            outcome: str | Exception | None = self.channels[job.kind].deliver(job, session)
        except Exception as error:  # a bug in a channel must not lose the job either
            session.rollback()
            if not isinstance(error, DeliveryError):
                log.exception("Unexpected error in %s", _describe(job))
            outcome = error
        self._record(session, job, outcome)
        session.commit()

    def _record(self, session: Session, job: DeliveryJob, outcome: str | Exception | None) -> None:
        """Done with its external id; dead after a permanent error or the last try; else
        back in the queue after a backoff."""
        what = _describe(job)
        if not isinstance(outcome, Exception):
            if mark_done(session, job, self.worker_id, outcome):
                log.info("Delivered %s (%s)", what, outcome)
            else:
                log.warning("Delivered %s, but its lease had passed to another worker", what)
            return
        message = str(outcome) or outcome.__class__.__name__
        if isinstance(outcome, PermanentDeliveryError):
            retry_at = None
            log.error("Gave up %s: %s", what, message)
        else:
            retry_at = self.policy.next_attempt(job.attempts, utcnow())
            if retry_at is None:
                log.error("Gave up %s after %d tries: %s", what, job.attempts, message)
            else:
                log.warning("Will retry %s at %s: %s", what, retry_at.isoformat(), message)
        mark_failed(session, job, self.worker_id, message, retry_at=retry_at)


def _describe(job: DeliveryJob) -> str:
    return (
        f"{job.kind.value}/{job.target.value} for {job.submission.reference} "
        f"(job {job.id}, try {job.attempts})"
    )
