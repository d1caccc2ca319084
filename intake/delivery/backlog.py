"""The delivery backlog: jobs not yet done (BACKLOG), per channel, as /healthz and /metrics
report it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake.models import BACKLOG, DeliveryJob, JobKind


@dataclass(frozen=True)
class Backlog:
    count: int = 0
    oldest: datetime | None = None  # when the oldest of them was made

    def age_seconds(self, now: datetime) -> float:
        return max(0.0, (now - self.oldest).total_seconds()) if self.oldest else 0.0


def backlog_by_channel(session: Session) -> dict[JobKind, Backlog]:
    """The backlog of each job kind that has one."""
    rows = session.execute(
        select(DeliveryJob.kind, func.count(), func.min(DeliveryJob.created_at))
        .where(DeliveryJob.status.in_(BACKLOG))
        .group_by(DeliveryJob.kind)
    )
    return {kind: Backlog(count, oldest) for kind, count, oldest in rows}


def total(backlogs: dict[JobKind, Backlog]) -> Backlog:
    """All channels together."""
    oldest = [b.oldest for b in backlogs.values() if b.oldest is not None]
    return Backlog(sum(b.count for b in backlogs.values()), min(oldest, default=None))
