"""After a burst: was every accepted submission stored, mailed and synced exactly once?

Compares the clients' answers (bench/load.py's `Post`s) with the rows in the database, the
messages at the SMTP sink (by X-Intake-Reference and Message-ID) and the records in the
Salesforce emulator (Leads by their external id, Tasks by their subject). Used by
bench/burst.py to report and by the fault test to assert.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from bench.common import STALL_TIMEOUT, Tables
from bench.load import EMAILS_PER_KIND, HELP, Post
from bench.stack import Mail

EXTERNAL_ID_FIELD = "Intake_Submission_Id__c"  # SALESFORCE_EXTERNAL_ID_FIELD's default


@dataclass(frozen=True)
class Row:
    """A stored submission."""

    submission_key: str
    public_id: str
    reference: str
    kind: str


def stored_rows(tables: Tables) -> list[Row]:
    with tables.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT submission_key, public_id, reference, kind FROM intake_submissions")
        )
        return [Row(*(str(value) for value in row)) for row in rows]


def open_jobs(tables: Tables) -> int:
    """Delivery jobs still to do: pending (due or waiting for a retry) or running."""
    return tables.scalar(
        "SELECT count(*) FROM intake_delivery_jobs WHERE status IN ('pending', 'running')"
    )


def wait_for_empty_backlog(tables: Tables, alive: Callable[[], bool]) -> float | None:
    """Poll the outbox until no job is pending or running: the time.monotonic() when it was
    seen empty, or None when it stopped shrinking for STALL_TIMEOUT seconds or `alive()`
    turned False (a worker died)."""
    seen, last_change = open_jobs(tables), time.monotonic()
    while seen:
        time.sleep(0.05)
        now_open = open_jobs(tables)
        if now_open != seen:
            seen, last_change = now_open, time.monotonic()
        elif time.monotonic() - last_change > STALL_TIMEOUT or not alive():
            return None
    return time.monotonic()


def _beyond_first(counts: Counter[Any]) -> int:
    """How many are repeats: everything after the first of each."""
    return sum(n - 1 for n in counts.values() if n > 1)


@dataclass
class Audit:
    posts: int  # submissions whose form a client asked for
    accepted: int  # POSTs answered 303
    refused: dict[str, int]  # the others, by outcome ("503", "GET 503", "no answer", …)
    stored: int  # rows in intake_submissions
    lost: int  # accepted, but no row
    stored_refused: int  # rows for posts that were not answered 303
    duplicate_rows: int  # rows beyond the first for one post (one form token)
    mail_expected: int  # 3 per order, 2 per start-up request stored
    mail_received: int
    mail_missing: int  # expected messages that did not arrive
    duplicate_message_ids: int  # messages that arrived again with a Message-ID already seen
    mail_unexpected: int  # messages for no stored submission
    leads_expected: int
    leads: int  # leads for stored submissions (by external id), repeats not counted
    duplicate_leads: int  # leads beyond the first with one external id
    tasks_expected: int  # one follow-up per start-up request
    tasks: int
    duplicate_tasks: int  # tasks beyond the first with one subject and lead
    outbox: dict[str, int] = field(default_factory=dict)  # jobs by kind/status

    @property
    def duplicates(self) -> int:
        return (
            self.duplicate_rows
            + self.duplicate_message_ids
            + self.duplicate_leads
            + self.duplicate_tasks
        )

    @property
    def open_or_dead_jobs(self) -> int:
        return sum(n for key, n in self.outbox.items() if not key.endswith("/done"))

    @property
    def ok(self) -> bool:
        """Nothing lost, nothing duplicated, everything delivered."""
        return (
            self.lost == self.duplicates == self.stored_refused == 0
            and self.stored == self.accepted
            and self.mail_received == self.mail_expected
            and self.mail_missing == self.mail_unexpected == 0
            and self.leads == self.leads_expected
            and self.tasks == self.tasks_expected
            and self.open_or_dead_jobs == 0
        )


def audit(
    posts: list[Post], tables: Tables, mails: list[Mail], records: dict[str, list[dict[str, Any]]]
) -> Audit:
    rows = stored_rows(tables)
    accepted_keys = {post.submission_key for post in posts if post.accepted}
    rows_per_key = Counter(row.submission_key for row in rows)
    by_reference = Counter(mail.reference for mail in mails)
    references = {row.reference: row for row in rows}
    public_ids = {row.public_id for row in rows}
    leads = Counter(
        lead.get(EXTERNAL_ID_FIELD)
        for lead in records.get("Lead", [])
        if lead.get(EXTERNAL_ID_FIELD) in public_ids
    )
    tasks = Counter(
        (task.get("Subject"), task.get("WhoId"))
        for task in records.get("Task", [])
        if any(reference in str(task.get("Subject", "")) for reference in references)
    )
    return Audit(
        posts=len(posts),
        accepted=sum(post.accepted for post in posts),
        refused=dict(sorted(Counter(p.outcome for p in posts if not p.accepted).items())),
        stored=len(rows),
        lost=len(accepted_keys - set(rows_per_key)),
        stored_refused=sum(1 for row in rows if row.submission_key not in accepted_keys),
        duplicate_rows=_beyond_first(rows_per_key),
        mail_expected=sum(EMAILS_PER_KIND[row.kind] for row in rows),
        mail_received=len(mails),
        mail_missing=sum(
            max(0, EMAILS_PER_KIND[row.kind] - by_reference[row.reference]) for row in rows
        ),
        duplicate_message_ids=_beyond_first(Counter(mail.message_id for mail in mails)),
        mail_unexpected=sum(n for ref, n in by_reference.items() if ref not in references),
        leads_expected=len(rows),
        leads=len(leads),
        duplicate_leads=_beyond_first(leads),
        tasks_expected=sum(row.kind == HELP for row in rows),
        tasks=len(tasks),
        duplicate_tasks=_beyond_first(tasks),
        outbox=tables.outbox_counts(),
    )
