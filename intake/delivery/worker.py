"""The delivery worker: claims due outbox jobs, hands each to its channel, records the outcome.

Crash and restart: a job is claimed with a lease (INTAKE_JOB_LEASE_SECONDS). If the worker
dies mid-job, the job stays `running` until the lease runs out, and then any worker takes it
again, so it is delivered at least once (an e-mail may arrive twice, with the same
Message-ID). SIGTERM sets the stop flag: the job in hand is finished and recorded first.
A database that goes away (a PostgreSQL restart) is waited out, not fatal: the jobs in hand
keep their lease meanwhile, and once it is back their outcomes are recorded and those not yet
delivered are put back, so none is delivered twice or waits for its lease to run out.

Anonymised submissions (intake.privacy.anonymise): the purge and the erasure cancel only jobs
no worker has claimed. A job claimed before is checked here, and cancelled if its submission was
anonymised; one already being sent is sent with what was read, but cancelled, not retried, if
the try fails.

Retries: a try that failed for a reason that may pass goes back in the queue after a backoff
(the channel's `retry_policy`, or the worker's INTAKE_RETRY_* and INTAKE_MAX_ATTEMPTS, after
which it is dead); Salesforce's policy never gives up on such a fault. When every job of a
batch failed so, they share one retry time (the one of the job tried most), so they go
again together; a channel that sends batches also takes the jobs waiting for a retry along
with any due job (outbox.claim's `with_waiting`), once per pass.

Between passes, every INTAKE_CRM_PULL_MINUTES, the worker also reads the follow-up back from
Salesforce (intake.delivery.follow_up), one worker at a time; a pull that fails is logged and
tried at the next interval, the deliveries go on meanwhile.

The worker knows channels only as `intake.delivery.channel.Channel`; `intake.extension` chooses
them (Salesforce first, so that the e-mails sent after it can link to the lead).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import datetime

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from crm_sync.errors import CrmError
from intake.delivery.channel import Channel, Outcome
from intake.delivery.errors import PermanentDeliveryError, TransientDeliveryError, log_text
from intake.delivery.follow_up import FollowUpPull, PullResult, follow_up_pull
from intake.delivery.outbox import claim, mark_cancelled, mark_done, mark_failed
from intake.delivery.retry import RetryPolicy
from intake.models import DeliveryJob, JobKind, JobStatus, Submission, utcnow
from intake.observability.log_context import about, get_logger
from intake.privacy.anonymise import CANCELLED_OUTCOME
from intake.state import current_intake

log = get_logger(__name__)


class DatabaseWentAway(TransientDeliveryError):
    """The outcome of a claimed job whose delivery the database's going away came before or
    interrupted: it goes back in the queue, due at once (not the channel's failure)."""


_WENT_AWAY = DatabaseWentAway("Databasen svarede ikke, før jobbet var leveret; prøves igen")


class Worker:
    def __init__(
        self, app: Flask, channels: Iterable[Channel] | None = None, worker_id: str | None = None
    ) -> None:
        """`channels`: the app's own (chosen by intake.extension) unless given."""
        config = app.config
        self.app = app
        chosen = list(channels) if channels is not None else app.extensions["intake"].channels
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
        salesforce = app.extensions["intake"].salesforce
        self.follow_up: FollowUpPull | None = (
            follow_up_pull(app, salesforce) if salesforce is not None else None
        )
        # Monotonic: when to look whether a pull is due; the first look a minute after start
        # (or sooner, for a shorter interval), so that a worker starts with the deliveries.
        every = self.follow_up.every if self.follow_up is not None else None
        self._next_follow_up_check = time.monotonic() + (
            min(60.0, every.total_seconds()) if every is not None else 0.0
        )
        # Claimed jobs whose outcome the database has not taken yet, by id.
        self._in_hand: dict[int, Outcome] = {}

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
            self.pull_follow_up_if_due()
            if not tried:
                self._stop.wait(self.poll_seconds)
        self._settle_before_exit()
        log.info("Worker %s stopped", self.worker_id)

    def pull_follow_up(self, *, force: bool = False) -> PullResult | None:
        """Read the follow-up back from Salesforce now (`force`), or if it is due; None when
        Salesforce is not configured. A Salesforce error propagates."""
        if self.follow_up is None:
            return None
        with self.app.app_context():
            engine = current_intake().database.engine
            if not force and not self.follow_up.due(engine):
                return PullResult(False, reason="ikke tid endnu")
            return self.follow_up.pull(engine, self.worker_id, force=force)

    def pull_follow_up_if_due(self) -> None:
        """The scheduled pull, looked for at most once a minute; its failure is logged."""
        if self.follow_up is None or self.follow_up.every is None:
            return
        now = time.monotonic()
        if now < self._next_follow_up_check:
            return
        self._next_follow_up_check = now + min(60.0, self.follow_up.every.total_seconds())
        try:
            self.pull_follow_up()
        except CrmError as error:
            log.warning("Salesforce follow-up pull failed; tried again later: %s", log_text(error))
        except SQLAlchemyError as error:
            log.warning(
                "Salesforce follow-up pull: database unavailable (%s)", type(error).__name__
            )

    def run_once(self, max_jobs: int | None = None) -> int:
        """Deliver the jobs due now, one by one; returns how many were tried. A job that fails
        is not tried again in the same pass, however short its backoff."""
        tried = 0
        started = utcnow()
        with self.app.app_context():
            self._settle()
            sessionmaker = current_intake().database.sessionmaker
            for kind, channel in self.channels.items():
                with_waiting = channel.batch_size > 1  # the first claim of the pass only
                while not self._stop.is_set() and (max_jobs is None or tried < max_jobs):
                    with sessionmaker() as session:
                        jobs = claim(
                            session,
                            [kind],
                            worker_id=self.worker_id,
                            lease_seconds=self.lease_seconds,
                            limit=channel.batch_size,
                            due_by=started,
                            with_waiting=with_waiting,
                        )
                        with_waiting = False
                        if not jobs:
                            break
                        self._in_hand.update(dict.fromkeys([job.id for job in jobs], _WENT_AWAY))
                        live = self._drop_anonymised(session, channel, jobs)
                        if live:
                            self._deliver(session, channel, live)
                        self._taken(jobs)  # every outcome is committed
                    tried += len(jobs)
        return tried

    def _drop_anonymised(
        self, session: Session, channel: Channel, jobs: list[DeliveryJob]
    ) -> list[DeliveryJob]:
        """Cancel the jobs whose submission has been anonymised (an e-mail or a lead must never
        be made of blanked fields): the anonymisation left them to a worker, which had claimed
        them, or it came after a try that failed; the others, to deliver."""
        if channel.acts_on_anonymised:
            return jobs
        live = [job for job in jobs if job.submission.anonymised_at is None]
        if len(live) < len(jobs):
            for job in jobs:
                if job not in live:
                    mark_cancelled(session, job, self.worker_id, CANCELLED_OUTCOME)
                    log.info("Cancelled %s: its submission was anonymised", _describe(job))
            session.commit()
        return live

    def _deliver(self, session: Session, channel: Channel, jobs: list[DeliveryJob]) -> None:
        """Hand the jobs to their channel, then record each job's outcome and what the channel
        added to the session in one commit."""
        references = [job.submission.reference for job in jobs]
        with about(*references):  # the channel's own log lines are about all of them
            try:
                outcomes: dict[int, Outcome] = dict(channel.deliver(jobs, session))
            except SQLAlchemyError:
                raise  # the database, not the channel: run() waits, then _settle puts them back
            except Exception as error:  # a bug in a channel must not lose the jobs either
                session.rollback()
                log.exception("Unexpected error delivering %s", ", ".join(map(_describe, jobs)))
                outcomes = {job.id: error for job in jobs}
        self._in_hand.update(outcomes)
        shared = self._shared_retry(channel, jobs, outcomes)
        for job, reference in zip(jobs, references, strict=True):
            with about(reference):
                self._record(session, job, outcomes[job.id], shared)
        session.commit()

    def _shared_retry(
        self, channel: Channel, jobs: list[DeliveryJob], outcomes: dict[int, Outcome]
    ) -> datetime | None:
        """One retry time for a batch whose every job failed for a reason that may pass (the
        receiver was down for all of them): the time of the job tried most, so that they go
        again together rather than each at its own jittered time. None otherwise."""
        failed = [outcomes[job.id] for job in jobs]
        if len(jobs) < 2 or not all(
            isinstance(o, TransientDeliveryError) and not isinstance(o, DatabaseWentAway)
            for o in failed
        ):
            return None
        retry_after = max((getattr(o, "retry_after", None) or 0.0) for o in failed)
        policy = channel.retry_policy or self.policy
        most = max(job.attempts for job in jobs)
        return policy.next_attempt(most, utcnow(), retry_after=retry_after or None)

    def _taken(self, jobs: list[DeliveryJob]) -> None:
        """The database has their outcomes: they are no longer in hand."""
        for job in jobs:
            self._in_hand.pop(job.id, None)

    def _settle(self) -> None:
        """Record what the database could not take when it went away: the outcomes of the
        jobs delivered meanwhile, and the jobs not delivered, back in the queue. Until then
        their lease keeps them from other workers, so none is delivered twice."""
        if not self._in_hand:
            return
        with current_intake().database.sessionmaker() as session:
            for job_id, outcome in self._in_hand.items():
                job = session.get(DeliveryJob, job_id)
                if job is not None:
                    channel = self.channels.get(job.kind)
                    reported = channel is not None and channel.reports_in_session
                    if reported and not isinstance(outcome, Exception):
                        # Its report went with the lost commit (a lead's id on the submission,
                        # an erasure's outcome and audit event). Its channel makes a repeat
                        # harmless (an upsert, a deletion): run it again.
                        outcome = _WENT_AWAY
                    with about(job.submission.reference):
                        self._record(session, job, outcome)
            session.commit()
        log.info("The database is back: recorded %d job(s) held meanwhile", len(self._in_hand))
        self._in_hand.clear()

    def _settle_before_exit(self) -> None:
        if not self._in_hand:
            return
        try:
            with self.app.app_context():
                self._settle()
        except SQLAlchemyError:
            log.error(
                "Stopped with %d job(s) the database has no outcome for (it is unavailable); "
                "they are delivered again when their lease runs out: %s",
                len(self._in_hand),
                ", ".join(str(job_id) for job_id in self._in_hand),
            )

    def _record(
        self,
        session: Session,
        job: DeliveryJob,
        outcome: Outcome,
        shared_retry_at: datetime | None = None,
    ) -> None:
        """Done with its external id; dead after a permanent error or the last try; else
        back in the queue after a backoff (at once when the database went away; at
        `shared_retry_at` when its whole batch failed so). A failed try of a job whose
        submission has been anonymised meanwhile: cancelled."""
        what = _describe(job)
        if not isinstance(outcome, Exception):
            if mark_done(session, job, self.worker_id, outcome):
                log.info("Delivered %s (%s)", what, outcome)
            else:
                self._delivered_late(session, job, what)
            return
        channel = self.channels.get(job.kind)
        acts_on_anonymised = channel is not None and channel.acts_on_anonymised
        if not acts_on_anonymised and _anonymised(session, job):
            # It will not be sent again, and its error may name the person: no retry, no error.
            if mark_cancelled(session, job, self.worker_id, CANCELLED_OUTCOME):
                log.info("Cancelled %s after a failed try: its submission was anonymised", what)
            return
        message = str(outcome) or outcome.__class__.__name__
        logged = log_text(outcome)  # the job keeps the whole message; the log no personal data
        if isinstance(outcome, PermanentDeliveryError):
            retry_at = None
            log.error("Gave up %s: %s", what, logged)
        elif isinstance(outcome, DatabaseWentAway):
            retry_at = utcnow()
            log.info("Put back %s: %s", what, logged)
        elif isinstance(outcome, TransientDeliveryError):
            policy = (channel.retry_policy if channel else None) or self.policy
            retry_at = shared_retry_at or policy.next_attempt(
                job.attempts, utcnow(), retry_after=outcome.retry_after
            )
            if retry_at is None:
                log.error("Gave up %s after %d tries: %s", what, job.attempts, logged)
            else:
                log.warning("Will retry %s at %s: %s", what, retry_at.isoformat(), logged)
        else:  # a bug in the channel: tried as the worker's policy says, then dead
            retry_at = self.policy.next_attempt(job.attempts, utcnow())
            if retry_at is None:
                log.error("Gave up %s after %d tries: %s", what, job.attempts, logged)
            else:
                log.warning("Will retry %s at %s: %s", what, retry_at.isoformat(), logged)
        receiver_failed = not isinstance(outcome, DatabaseWentAway)
        mark_failed(
            session, job, self.worker_id, message, retry_at, receiver_failed=receiver_failed
        )

    def _delivered_late(self, session: Session, job: DeliveryJob, what: str) -> None:
        """Delivered after the job's lease ran out: another worker has taken it and, if its
        submission was anonymised meanwhile, cancelled it; its channel then undoes what it can
        (a lead made after the erasure looked for it is erased again)."""
        status = session.scalar(select(DeliveryJob.status).where(DeliveryJob.id == job.id))
        if status is not JobStatus.CANCELLED:
            log.warning("Delivered %s, but its lease had passed to another worker", what)
            return
        log.warning(
            "Delivered %s after its lease ran out, although its submission was anonymised "
            "meanwhile (the job is cancelled)",
            what,
        )
        channel = self.channels.get(job.kind)
        if channel is not None:
            channel.delivered_after_cancel(session, job)


def _anonymised(session: Session, job: DeliveryJob) -> bool:
    """Whether the job's submission is anonymised now (not when the job was claimed)."""
    query = select(Submission.anonymised_at).where(Submission.id == job.submission_id)
    return session.scalar(query) is not None


def _describe(job: DeliveryJob) -> str:
    return (
        f"{job.kind.value}/{job.target.value} for {job.submission.reference} "
        f"(job {job.id}, try {job.attempts})"
    )
