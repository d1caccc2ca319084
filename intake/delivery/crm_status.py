"""Whether Salesforce is behind, and since when: what /healthz and /metrics say of the CRM.

A Salesforce fault that may pass (the org's daily allowance spent, a maintenance window, 429,
5xx, the network) never makes a job dead: it waits and is tried again, for as long as it
takes. The CRM is *behind* while any Salesforce job waits after such a failed try; it has been
behind since the first failed try of the job that has waited longest, and its next try is
due at the soonest of theirs. Read from the database, so every web process says the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from intake.models import BACKLOG, DeliveryJob, JobKind

CRM_KINDS = (JobKind.SALESFORCE, JobKind.SALESFORCE_ERASE, JobKind.SALESFORCE_OWNER)


def waiting_for_crm() -> ColumnElement[bool]:
    """Salesforce jobs in the backlog whose last try failed (they wait for Salesforce)."""
    return (
        DeliveryJob.kind.in_(CRM_KINDS)
        & DeliveryJob.status.in_(BACKLOG)
        & DeliveryJob.first_failed_at.is_not(None)
    )


@dataclass(frozen=True)
class CrmStatus:
    waiting: int = 0  # Salesforce jobs waiting after a failed try
    behind_since: datetime | None = None
    next_try_at: datetime | None = None

    @property
    def behind(self) -> bool:
        return self.waiting > 0


def crm_status(session: Session) -> CrmStatus:
    waiting, since, next_try = session.execute(
        select(
            func.count(),
            func.min(DeliveryJob.first_failed_at),
            func.min(DeliveryJob.next_attempt_at),
        ).where(waiting_for_crm())
    ).one()
    if not waiting:
        return CrmStatus()
    return CrmStatus(waiting, since, next_try)
