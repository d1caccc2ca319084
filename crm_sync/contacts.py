"""Salesforce's Contacts with an e-mail address, and what changed in them since a time: what a
local contact index needs to match a submission to an existing contact without asking
Salesforce each time.

`fetch_contacts(client, None)` reads every contact with an e-mail (a full load; one request
per 2,000 contacts); `fetch_contacts(client, since)` reads, with queryAll so that deleted
contacts come too, those whose SystemModstamp is at or after `since` minus OVERLAP: a record
saved in a transaction that began before the last refresh may be stamped earlier than the
newest stamp that refresh saw, and reading a few minutes twice costs nothing (applying a
change twice is harmless). SystemModstamp rather than LastModifiedDate: it also moves when
the system changes a record (Salesforce's advice for replication).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from simple_salesforce.format import format_soql

from crm_sync.client import SalesforceClient

OVERLAP = timedelta(minutes=10)


@dataclass(frozen=True)
class ContactChange:
    contact_id: str
    email: str | None  # None: deleted, or has no e-mail address any more


@dataclass
class ContactChanges:
    full: bool  # every contact (replace the index) rather than what changed
    changes: list[ContactChange] = field(default_factory=list)
    synced_through: datetime | None = None  # the newest SystemModstamp among them


def _stamp(value: str) -> datetime:
    """Salesforce's dateTime ("2026-11-25T14:47:31.000+0000") as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def fetch_contacts(client: SalesforceClient, since: datetime | None) -> ContactChanges:
    """Every contact with an e-mail (`since` None), or what changed since `since`."""
    if since is None:
        records = client.query("SELECT Id, Email, SystemModstamp FROM Contact WHERE Email != null")
    else:
        records = client.query(
            format_soql(
                "SELECT Id, Email, IsDeleted, SystemModstamp FROM Contact "
                "WHERE SystemModstamp >= {}",
                since - OVERLAP,
            ),
            include_deleted=True,
        )
    result = ContactChanges(full=since is None, synced_through=since)
    for record in records:
        deleted = bool(record.get("IsDeleted"))
        email = None if deleted else (record.get("Email") or None)
        result.changes.append(ContactChange(str(record["Id"]), email))
        stamp = record.get("SystemModstamp")
        if stamp:
            seen = _stamp(str(stamp))
            if result.synced_through is None or seen > result.synced_through:
                result.synced_through = seen
    return result
