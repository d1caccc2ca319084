"""The Salesforce API usage /metrics shows, kept in the database (intake_salesforce_usage).

Web processes and workers are separate processes, so the count cannot live in memory: after
each batch a channel adds its client's new API requests to the one row, with the daily usage
Salesforce reported last (Sforce-Limit-Info: api-usage=USED/LIMIT). The addition is one
UPDATE (`api_requests = api_requests + n`), so any number of workers can record at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from crm_sync.client import SalesforceClient
from intake.models import SalesforceUsage, utcnow

ROW_ID = 1


def record_usage(session: Session, client: SalesforceClient, now: datetime | None = None) -> None:
    """Add the client's API requests since it last recorded; the caller commits."""
    requests, daily = client.take_usage()
    if not requests:
        return
    values: dict[str, object] = {"api_requests": SalesforceUsage.api_requests + requests}
    if daily is not None:
        values.update(daily_used=daily[0], daily_limit=daily[1], observed_at=now or utcnow())
    add = (
        update(SalesforceUsage)
        .where(SalesforceUsage.id == ROW_ID)
        .values(values)
        .execution_options(synchronize_session=False)
    )
    if session.execute(add).rowcount == 0:  # type: ignore[attr-defined]
        # The first record ever: make the row (another worker may just have), then add.
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        row = dialect.insert(SalesforceUsage).values(id=ROW_ID, api_requests=0)
        session.execute(row.on_conflict_do_nothing())
        session.execute(add)


def current_usage(session: Session) -> SalesforceUsage | None:
    return session.get(SalesforceUsage, ROW_ID)
