"""The pull: what became of BL Intake's leads in Salesforce, stored on their submissions.

Every INTAKE_CRM_PULL_MINUTES (0: never) the delivery worker, or `intake crm pull` on demand,
reads the leads changed since the last pull (crm_sync.follow_up: one SOQL query, paged) and
writes each one's Status, IsConverted and follow-up task Status on its submission; the
overview turns them into each municipality's stage (intake.backoffice.coverage).

* One worker at a time: the pull holds a lease on its row in intake_salesforce_sync ("Lead
  follow-up"), taken with one conditional UPDATE, so it works alike on SQLite and PostgreSQL;
  a worker that dies lets go when the lease (INTAKE_JOB_LEASE_SECONDS) runs out.
* Nothing is lost: the query runs with no transaction open; what it read, the new watermark,
  the lease's release and the API usage are written in one transaction. A pull that fails
  (Salesforce unreachable, its allowance spent) stores nothing and leaves the watermark; the
  next one reads the same changes again.
* The watermark is the newest LastModifiedDate read, never the worker's clock. The next pull
  asks for what changed after it less OVERLAP: a lead saved in a transaction that committed
  after the pull read may carry an earlier LastModifiedDate; reading it twice is harmless, as
  a submission takes a reading only if it is not older than the one it has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from flask import Flask
from sqlalchemy import Table, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from crm_sync.client import SalesforceClient
from crm_sync.config import SalesforceConfig
from crm_sync.follow_up import FollowUps, fetch_follow_ups
from intake.db import rows_matched
from intake.delivery.salesforce_usage import record_usage
from intake.models import SalesforceSync, Submission, utcnow
from intake.observability.log_context import get_logger

log = get_logger(__name__)

NAME = "LeadFollowUp"  # its row in intake_salesforce_sync
OVERLAP = timedelta(minutes=5)


@dataclass(frozen=True)
class PullResult:
    pulled: bool  # False: not due, or another worker holds the lease
    leads: int = 0  # leads read
    stored: int = 0  # submissions that took a newer reading
    api_requests: int = 0
    watermark: datetime | None = None
    reason: str = ""


class FollowUpPull:
    """Reads the follow-up back from Salesforce into the database, one worker at a time."""

    def __init__(
        self,
        config: SalesforceConfig,
        client: SalesforceClient,
        *,
        every: timedelta | None,
        lease: timedelta,
        overlap: timedelta = OVERLAP,
    ) -> None:
        self.config = config
        self.client = client
        self.every = every  # None: only on demand
        self.lease = lease
        self.overlap = overlap

    def due(self, engine: Engine) -> bool:
        """Whether a scheduled pull is due (a cheap read; the lease decides who pulls)."""
        if self.every is None:
            return False
        with Session(engine) as session:
            last = session.scalar(
                select(SalesforceSync.refreshed_at).where(SalesforceSync.name == NAME)
            )
        return last is None or utcnow() - last >= self.every

    def pull(self, engine: Engine, worker_id: str, *, force: bool = False) -> PullResult:
        """Pull if due (or `force`d) and no other worker is pulling. A Salesforce error
        propagates (crm_sync.errors) after the lease is given back; nothing is stored."""
        claimed, watermark = self._claim(engine, worker_id, force=force)
        if not claimed:
            return PullResult(False, reason="ikke tid endnu, eller en anden worker henter nu")
        since = watermark - self.overlap if watermark is not None else None
        before = self.client.api_requests
        try:
            found = fetch_follow_ups(self.client, self.config.external_id_field, since)
        except BaseException:
            self._release(engine, worker_id)
            raise
        return self._store(engine, worker_id, found, watermark, self.client.api_requests - before)

    # -- the lease -------------------------------------------------------------------------

    def _claim(
        self, engine: Engine, worker_id: str, *, force: bool
    ) -> tuple[bool, datetime | None]:
        """Take the lease (False: not due, or held by another), and the watermark (None:
        never pulled, so every lead is read)."""
        now = utcnow()
        with Session(engine) as session:
            dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
            session.execute(
                dialect.insert(SalesforceSync)
                .values(name=NAME, key_id="")
                .on_conflict_do_nothing(index_elements=["name"])
            )
            free = or_(SalesforceSync.leased_until.is_(None), SalesforceSync.leased_until < now)
            claim = (
                update(SalesforceSync)
                .where(SalesforceSync.name == NAME, free)
                .values(leased_by=worker_id, leased_until=now + self.lease)
                .execution_options(synchronize_session=False)
            )
            if not force:
                if self.every is None:
                    return False, None
                last = SalesforceSync.refreshed_at
                claim = claim.where(or_(last.is_(None), last <= now - self.every))
            if rows_matched(session, claim) != 1:
                session.rollback()
                return False, None
            watermark = session.scalar(
                select(SalesforceSync.synced_through).where(SalesforceSync.name == NAME)
            )
            session.commit()
        return True, watermark

    def _release(self, engine: Engine, worker_id: str) -> None:
        with Session(engine) as session:
            session.execute(
                update(SalesforceSync)
                .where(SalesforceSync.name == NAME, SalesforceSync.leased_by == worker_id)
                .values(leased_by=None, leased_until=None)
            )
            session.commit()

    # -- storing ---------------------------------------------------------------------------

    def _store(
        self,
        engine: Engine,
        worker_id: str,
        found: FollowUps,
        watermark: datetime | None,
        api_requests: int,
    ) -> PullResult:
        """Everything read, the watermark and the lease's release, in one transaction."""
        table = cast(Table, Submission.__table__)
        newer = or_(
            table.c.crm_modified_at.is_(None), table.c.crm_modified_at <= bindparam("b_modified")
        )
        statement = (
            update(table)
            .where(table.c.public_id == bindparam("b_public_id"), newer)
            .values(
                crm_lead_status=bindparam("b_status"),
                crm_converted=bindparam("b_converted"),
                crm_task_status=bindparam("b_task_status"),
                crm_modified_at=bindparam("b_modified"),
            )
        )
        rows = [
            {
                "b_public_id": lead.external_id,
                "b_status": lead.status[:40],
                "b_converted": lead.converted,
                "b_task_status": lead.task_status[:40] if lead.task_status else None,
                "b_modified": lead.modified_at,
            }
            for lead in found.leads
        ]
        new_watermark = max(filter(None, (watermark, found.newest)), default=None)
        with Session(engine) as session:
            stored = 0
            if rows:
                result = session.connection().execute(statement, rows)
                stored = max(result.rowcount, 0)
            record_usage(session, self.client)
            moved = rows_matched(
                session,
                update(SalesforceSync)
                .where(SalesforceSync.name == NAME, SalesforceSync.leased_by == worker_id)
                .values(
                    synced_through=new_watermark,
                    refreshed_at=utcnow(),
                    leased_by=None,
                    leased_until=None,
                ),
            )
            if moved != 1:  # the lease ran out mid-pull: store, leave the row to its holder
                log.warning("Salesforce follow-up pull outlived its lease; watermark left")
            session.commit()
        log.info(
            "Salesforce follow-up: %d lead(s) read, %d submission(s) updated, %d API request(s)",
            len(found.leads),
            stored,
            api_requests,
        )
        return PullResult(True, len(found.leads), stored, api_requests, new_watermark)


def follow_up_pull(app: Flask, config: SalesforceConfig) -> FollowUpPull:
    """The app's pull, with a Salesforce client of its own."""
    minutes = float(app.config["INTAKE_CRM_PULL_MINUTES"])
    return FollowUpPull(
        config,
        SalesforceClient(config),
        every=timedelta(minutes=minutes) if minutes > 0 else None,
        lease=timedelta(seconds=float(app.config["INTAKE_JOB_LEASE_SECONDS"])),
    )


__all__ = ["NAME", "FollowUpPull", "PullResult", "follow_up_pull"]
