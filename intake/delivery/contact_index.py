"""The contact index: which Salesforce Contact has which e-mail address, kept in our database
so that matching a submission to an existing contact costs no API request.

It holds, per contact, a keyed hash of its address (HMAC-SHA256 with a key derived from
SECRET_KEY), never the address: the index is about everyone in BL's CRM, not only people who
used the forms. A new key (SECRET_KEY rotated) makes the next refresh a full load.

Refreshed before a send when older than SALESFORCE_CONTACT_INDEX_MINUTES: the first time
with every contact that has an e-mail (one request per 2,000), then with what changed since
(crm_sync.contacts: one queryAll request, deletions included). So a contact made in
Salesforce in the last minutes may not be matched yet: that submission gets a lead, which an
alerting duplicate rule lets through. A contact deleted meanwhile is dropped when a follow-up
on it fails (the job is retried, and goes as a lead).

The refresh runs in a transaction of its own, committed at once: it is a copy of Salesforce,
not part of any job's outcome, and must not hold the database while the send goes on. On
PostgreSQL one worker refreshes at a time (the others use the index as it is meanwhile).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from crm_sync.client import SalesforceClient
from crm_sync.contacts import ContactChanges, fetch_contacts
from intake.models import SalesforceContact, SalesforceSync, utcnow
from intake.text import ascii_address

NAME = "Contact"  # its row in intake_salesforce_sync
ROWS_PER_STATEMENT = 500


def index_key(secret_key: str | bytes) -> bytes:
    """The index's own key, derived from SECRET_KEY (never SECRET_KEY itself)."""
    secret = secret_key.encode() if isinstance(secret_key, str) else secret_key
    return hmac.new(secret, b"intake.salesforce.contact-index", hashlib.sha256).digest()


@dataclass(frozen=True)
class ContactIndex:
    key: bytes
    max_age: timedelta

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.key).hexdigest()[:16]

    def email_key(self, address: str) -> str:
        normal = ascii_address(address).strip().lower().encode()
        return hmac.new(self.key, normal, hashlib.sha256).hexdigest()

    # -- reading --------------------------------------------------------------------------

    def contacts_for(self, session: Session, addresses: Iterable[str]) -> dict[str, str]:
        """The contact id of each address that has one (several: the oldest id)."""
        keys = {self.email_key(a): a for a in addresses}
        found: dict[str, str] = {}
        rows = session.execute(
            select(SalesforceContact.email_key, SalesforceContact.contact_id)
            .where(SalesforceContact.email_key.in_(list(keys)))
            .order_by(SalesforceContact.contact_id)
        )
        for email_key, contact_id in rows:
            found.setdefault(keys[email_key], contact_id)
        return found

    def forget(self, session: Session, contact_ids: Iterable[str]) -> None:
        """Drop contacts Salesforce no longer has (a follow-up on them failed)."""
        ids = list(contact_ids)
        if ids:
            session.execute(delete(SalesforceContact).where(SalesforceContact.contact_id.in_(ids)))

    # -- refreshing ---------------------------------------------------------------------------

    def refresh_if_due(self, bind: Engine | Connection, client: SalesforceClient) -> bool:
        """Bring the index up to date if it is older than `max_age`; whether it did. A
        Salesforce error propagates (crm_sync.errors), and nothing is changed."""
        now = utcnow()
        with Session(bind) as session:
            state = self._claim_state(session)
            if state is None:  # another worker is refreshing it right now
                session.rollback()
                return False
            full = state.key_id != self.key_id or state.synced_through is None
            fresh = state.refreshed_at is not None and now - state.refreshed_at < self.max_age
            if fresh and not full:
                session.rollback()
                return False
            changes = fetch_contacts(client, None if full else state.synced_through)
            self._apply(session, changes)
            state.synced_through = changes.synced_through or now
            state.refreshed_at = now
            state.key_id = self.key_id
            session.commit()
            return True

    def _claim_state(self, session: Session) -> SalesforceSync | None:
        """The index's row, locked for this refresh (None: another worker holds it)."""
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(
            dialect.insert(SalesforceSync)
            .values(name=NAME, key_id="")
            .on_conflict_do_nothing(index_elements=["name"])
        )
        query = select(SalesforceSync).where(SalesforceSync.name == NAME)
        if dialect is postgresql:
            query = query.with_for_update(skip_locked=True)
        return session.scalars(query).one_or_none()

    def _apply(self, session: Session, changes: ContactChanges) -> None:
        if changes.full:
            session.execute(delete(SalesforceContact))
        else:
            ids = [change.contact_id for change in changes.changes]
            for start in range(0, len(ids), ROWS_PER_STATEMENT):
                chunk = ids[start : start + ROWS_PER_STATEMENT]
                session.execute(
                    delete(SalesforceContact).where(SalesforceContact.contact_id.in_(chunk))
                )
        rows = {
            change.contact_id: self.email_key(change.email)
            for change in changes.changes
            if change.email
        }
        values = [{"contact_id": cid, "email_key": key} for cid, key in rows.items()]
        for start in range(0, len(values), ROWS_PER_STATEMENT):
            session.execute(insert(SalesforceContact), values[start : start + ROWS_PER_STATEMENT])
