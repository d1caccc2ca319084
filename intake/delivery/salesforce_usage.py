"""The Salesforce API usage /metrics shows, kept in the database (intake_salesforce_usage).

Web processes and workers are separate processes, so the count cannot live in memory: after
each batch a Salesforce channel adds its client's new API requests to the one row, with the
daily usage Salesforce reported last (Sforce-Limit-Info: api-usage=USED/LIMIT). The addition is one
UPDATE (`api_requests = api_requests + n`), so any number of workers can record at once.

The addition rides in the caller's transaction, so the client counts the requests as recorded
only once that commits: a rolled-back batch's requests are added with the next one. The daily
usage is replaced only by a newer observation (workers record in any order).
"""

from __future__ import annotations

from sqlalchemy import case, event, literal, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction

from crm_sync.client import SalesforceClient
from intake.db import rows_matched
from intake.models import SalesforceUsage

ROW_ID = 1
_STAGED = "intake_salesforce_usage"  # session.info: {client: its requests added, uncommitted}


def record_usage(session: Session, client: SalesforceClient) -> None:
    """Add the client's API requests that the database does not have yet; the caller commits."""
    staged: dict[SalesforceClient, int] = session.info.setdefault(_STAGED, {})
    up_to = client.api_requests
    requests = up_to - max(client.recorded_requests, staged.get(client, 0))
    if requests <= 0:
        return
    values: dict[str, object] = {"api_requests": SalesforceUsage.api_requests + requests}
    daily, observed_at = client.api_usage, client.api_usage_at
    if daily is not None and observed_at is not None:
        at = literal(observed_at, SalesforceUsage.observed_at.type)  # stored as the column is
        newer = or_(SalesforceUsage.observed_at.is_(None), SalesforceUsage.observed_at < at)
        values.update(
            daily_used=case((newer, daily[0]), else_=SalesforceUsage.daily_used),
            daily_limit=case((newer, daily[1]), else_=SalesforceUsage.daily_limit),
            observed_at=case((newer, at), else_=SalesforceUsage.observed_at),
        )
    add = (
        update(SalesforceUsage)
        .where(SalesforceUsage.id == ROW_ID)
        .values(values)
        .execution_options(synchronize_session=False)
    )
    if rows_matched(session, add) == 0:
        # The first record ever: make the row (another worker may just have), then add.
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        row = dialect.insert(SalesforceUsage).values(id=ROW_ID, api_requests=0)
        session.execute(row.on_conflict_do_nothing())
        session.execute(add)
    staged[client] = up_to
    if not event.contains(session, "after_commit", _committed):
        event.listen(session, "after_commit", _committed)
        event.listen(session, "after_transaction_end", _ended)


def _committed(session: Session) -> None:
    """The transaction that added the requests committed: the clients may forget them."""
    if not session.in_nested_transaction():  # a savepoint's release commits nothing yet
        for client, up_to in session.info.get(_STAGED, {}).items():
            client.mark_recorded(up_to)


def _ended(session: Session, transaction: SessionTransaction) -> None:
    """Committed or not, the next transaction starts with nothing added."""
    if transaction.parent is None:
        session.info.pop(_STAGED, None)


def current_usage(session: Session) -> SalesforceUsage | None:
    return session.get(SalesforceUsage, ROW_ID)
