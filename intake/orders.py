"""A pamphlet order's life after it arrives: new → packed → shipped, or cancelled.

The changes are plain functions on a session; each commits the status, its timestamp, the
stock, the "on their way" e-mail job and the audit event together, or nothing at all. The
status is changed with a conditional UPDATE, so two staff members clicking at once cannot
ship one order twice. Also here: the back office's search and the CSV export's rows.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Select, case, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from intake import audit
from intake.models import (
    AuditEvent,
    DeliveryJob,
    JobKind,
    JobTarget,
    OrderStatus,
    Pamphlet,
    Submission,
    SubmissionKind,
    utcnow,
)
from intake.timefmt import danish_time

WAITING = (OrderStatus.NEW, OrderStatus.PACKED)

# What staff read (the back office, the CSV).
STATUS_LABELS = {
    OrderStatus.NEW: "Ny",
    OrderStatus.PACKED: "Pakket",
    OrderStatus.SHIPPED: "Afsendt",
    OrderStatus.CANCELLED: "Annulleret",
}

# The audit actions of this module, as the order page's history names them.
ACTION_LABELS = {
    "order_packed": "Markeret som pakket",
    "order_shipped": "Markeret som afsendt",
    "order_cancelled": "Annulleret",
    # intake.anonymise, crm_sync.erasure
    "anonymised": "Personoplysninger slettet",
    "salesforce_lead_deleted": "Lead slettet i Salesforce",
    "salesforce_lead_kept": "Lead ikke slettet (konverteret)",
    "salesforce_no_lead": "Intet lead at slette i Salesforce",
}

# The statuses each change may start from.
ALLOWED_FROM: dict[OrderStatus, tuple[OrderStatus, ...]] = {
    OrderStatus.PACKED: (OrderStatus.NEW,),
    OrderStatus.SHIPPED: WAITING,
    OrderStatus.CANCELLED: WAITING,
}

_VERB = {
    OrderStatus.PACKED: "markeres som pakket",
    OrderStatus.SHIPPED: "sendes",
    OrderStatus.CANCELLED: "annulleres",
}


class OrderError(Exception):
    """A change that cannot be made; the message says why, in Danish, for staff."""


@dataclass(frozen=True)
class StockShortage:
    title: str
    in_stock: int
    shipped: int


@dataclass
class Shipped:
    """What shipping did to the stock: the pamphlets that were short (now at 0)."""

    shortages: list[StockShortage] = field(default_factory=list)


def refusal(order: Submission, to: OrderStatus) -> str:
    """Why `order` cannot move to `to`."""
    current = order.order_status
    if current is to:
        already = {
            OrderStatus.PACKED: "er allerede markeret som pakket",
            OrderStatus.SHIPPED: "er allerede afsendt",
            OrderStatus.CANCELLED: "er allerede annulleret",
        }[to]
        return f"Ordren {order.reference} {already}."
    if current is OrderStatus.SHIPPED:
        return f"Ordren {order.reference} er afsendt og kan ikke længere {_VERB[to]}."
    if current is OrderStatus.CANCELLED:
        return f"Ordren {order.reference} er annulleret og kan ikke {_VERB[to]}."
    return f"Ordren {order.reference} kan ikke {_VERB[to]}, når den har status {_label(current)}."


def possible(order: Submission) -> set[OrderStatus]:
    """The statuses the order may move to now (the order page's buttons)."""
    return {to for to, sources in ALLOWED_FROM.items() if order.order_status in sources}


def _label(status: OrderStatus | None) -> str:
    return STATUS_LABELS[status].lower() if status is not None else "ukendt"


def find_order(session: Session, reference: str) -> Submission | None:
    """A pamphlet order by its reference (PJ-2026-00042), in any letter case."""
    return session.scalar(
        select(Submission)
        .where(
            Submission.reference == reference.strip().upper(),
            Submission.kind == SubmissionKind.PAMPHLET_ORDER,
        )
        .options(selectinload(Submission.lines))
    )


def _move(session: Session, order: Submission, to: OrderStatus, **values: object) -> None:
    """Set the new status only if the order is still in a status it may leave for `to`."""
    allowed = ALLOWED_FROM[to]
    if order.order_status not in allowed:
        raise OrderError(refusal(order, to))
    result = session.execute(
        update(Submission)
        .where(Submission.id == order.id, Submission.order_status.in_(allowed))
        .values(order_status=to, **values)
    )
    if result.rowcount != 1:  # someone else got there first
        session.rollback()
        session.refresh(order)
        raise OrderError(
            f"Ordren {order.reference} blev ændret af en anden i mellemtiden og har nu status "
            f"{_label(order.order_status)}. Intet er ændret."
        )


def mark_packed(session: Session, order: Submission, actor: str) -> None:
    _move(session, order, OrderStatus.PACKED, packed_at=utcnow())
    audit.record(session, actor, "order_packed", submission=order)
    session.commit()


def mark_shipped(session: Session, order: Submission, actor: str, note: str = "") -> Shipped:
    """Ship: subtract the stock, and tell the orderer by e-mail (through the outbox)."""
    note = note.strip()
    _move(session, order, OrderStatus.SHIPPED, shipped_at=utcnow(), status_note=note)
    shipped, stock_detail = _take_stock(session, order)
    session.add(DeliveryJob(submission_id=order.id, kind=JobKind.EMAIL, target=JobTarget.SHIPPED))
    detail = [f"Note: {note}"] if note else []
    audit.record(
        session, actor, "order_shipped", submission=order, detail="\n".join(detail + stock_detail)
    )
    session.commit()
    return shipped


def mark_cancelled(session: Session, order: Submission, actor: str, reason: str) -> None:
    reason = reason.strip()
    if not reason:
        raise OrderError("Skriv, hvorfor ordren annulleres.")
    _move(session, order, OrderStatus.CANCELLED, cancelled_at=utcnow(), status_note=reason)
    audit.record(session, actor, "order_cancelled", submission=order, detail=reason)
    session.commit()


def _take_stock(session: Session, order: Submission) -> tuple[Shipped, list[str]]:
    """Subtract the shipped quantities from the counted pamphlets, never below 0.

    The rows are locked (PostgreSQL; SQLite already holds its one write lock) and read afresh,
    so two orders shipped at once both count.
    """
    ids = sorted({line.pamphlet_id for line in order.lines})
    pamphlets = {
        pamphlet.id: pamphlet
        for pamphlet in session.scalars(
            select(Pamphlet)
            .where(Pamphlet.id.in_(ids))
            .order_by(Pamphlet.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    shipped = Shipped()
    detail: list[str] = []
    for line in order.lines:
        pamphlet = pamphlets[line.pamphlet_id]
        if pamphlet.stock is None:  # not counted
            continue
        before = pamphlet.stock
        pamphlet.stock = max(before - line.quantity, 0)
        if before < line.quantity:
            shipped.shortages.append(StockShortage(line.title, before, line.quantity))
            detail.append(
                f"Lager for lavt: {line.title}: {before} på lager, {line.quantity} afsendt; "
                "lageret er sat til 0."
            )
        else:
            detail.append(f"Lager: {line.title}: {before} → {pamphlet.stock}")
    return shipped, detail


def history(session: Session, order: Submission) -> list[AuditEvent]:
    """The staff actions on this order, oldest first."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.submission_id == order.id)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    )


def shipped_email(session: Session, order: Submission) -> DeliveryJob | None:
    """The "on their way" e-mail's job, once the order is shipped."""
    return session.scalar(
        select(DeliveryJob).where(
            DeliveryJob.submission_id == order.id,
            DeliveryJob.kind == JobKind.EMAIL,
            DeliveryJob.target == JobTarget.SHIPPED,
        )
    )


# -- Finding orders ------------------------------------------------------------------------

# The status filter's choices: (value in ?status=, label). "" is every order.
STATUS_FILTERS: list[tuple[str, str]] = [
    ("", "Alle"),
    ("waiting", "Venter (nye og pakkede)"),
    (OrderStatus.NEW.value, "Nye"),
    (OrderStatus.PACKED.value, "Pakkede"),
    (OrderStatus.SHIPPED.value, "Afsendte"),
    (OrderStatus.CANCELLED.value, "Annullerede"),
]


@dataclass(frozen=True)
class OrderPage:
    orders: list[Submission]
    number: int  # 1-based
    pages: int
    total: int


_CAPITALS = (("Æ", "æ"), ("Ø", "ø"), ("Å", "å"), ("Ä", "ä"), ("Ö", "ö"), ("Ü", "ü"), ("É", "é"))


def _fold(column: ColumnElement[str]) -> ColumnElement[str]:
    """Lower case in SQL on both databases (SQLite's lower() leaves Æ, Ø and Å alone)."""
    for upper, lower in _CAPITALS:
        column = func.replace(column, upper, lower)
    return func.lower(column)


def _matching(status: str, q: str) -> Select[tuple[Submission]]:
    query = select(Submission).where(Submission.kind == SubmissionKind.PAMPHLET_ORDER)
    if status == "waiting":
        query = query.where(Submission.order_status.in_(WAITING))
    elif status in {s.value for s in OrderStatus}:
        query = query.where(Submission.order_status == OrderStatus(status))
    for word in q.split():
        needle = word.lower()
        query = query.where(
            or_(
                func.lower(Submission.reference).contains(needle, autoescape=True),
                _fold(Submission.organisation).contains(needle, autoescape=True),
                Submission.postcode.startswith(word, autoescape=True),
            )
        )
    return query


def _newest_waiting_first(query: Select[tuple[Submission]]) -> Select[tuple[Submission]]:
    waiting_first = case((Submission.order_status.in_(WAITING), 0), else_=1)
    return query.order_by(waiting_first, Submission.created_at.desc(), Submission.id.desc())


def search_orders(
    session: Session, *, status: str = "", q: str = "", page: int = 1, page_size: int = 50
) -> OrderPage:
    """One page of the orders that match: waiting ones first, newest first within."""
    query = _matching(status, q)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // page_size))
    number = min(max(page, 1), pages)
    orders = session.scalars(
        _newest_waiting_first(query)
        .options(selectinload(Submission.lines))
        .limit(page_size)
        .offset((number - 1) * page_size)
    ).all()
    return OrderPage(list(orders), number, pages, total)


def all_matching(session: Session, *, status: str = "", q: str = "") -> list[Submission]:
    """Every matching order, in the list's order (for the CSV)."""
    query = _newest_waiting_first(_matching(status, q)).options(selectinload(Submission.lines))
    return list(session.scalars(query))


def waiting_orders(session: Session) -> list[Submission]:
    """The orders to pack, oldest first: the order they are packed in."""
    return list(
        session.scalars(
            _matching("waiting", "")
            .order_by(Submission.created_at, Submission.id)
            .options(selectinload(Submission.lines))
        )
    )


def filter_counts(session: Session) -> dict[str, int]:
    """How many orders each of STATUS_FILTERS shows."""
    rows = session.execute(
        select(Submission.order_status, func.count())
        .where(Submission.kind == SubmissionKind.PAMPHLET_ORDER)
        .group_by(Submission.order_status)
    )
    by_status = {status.value: number for status, number in rows if status is not None}
    counts = {value: by_status.get(value, 0) for value, _ in STATUS_FILTERS}
    counts["waiting"] = sum(by_status.get(status.value, 0) for status in WAITING)
    counts[""] = sum(by_status.values())
    return counts


# -- The CSV export ------------------------------------------------------------------------

CSV_HEADER = [
    "Reference",
    "Status",
    "Modtaget",
    "Boligorganisation",
    "Att.",
    "Adresse",
    "Postnr.",
    "By",
    "Kommune",
    "Kontaktperson",
    "E-mail",
    "Telefon",
    "Pjecer",
    "Antal i alt",
    "Note",
]

# A cell starting with one of these is a formula to Excel (and \t, \r can hide one).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """Text that Excel shows as text, never runs as a formula (CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_row(order: Submission) -> list[str | int]:
    status = STATUS_LABELS[order.order_status] if order.order_status else ""
    lines = "; ".join(f"{line.quantity} stk. {line.title}" for line in order.lines)
    cell = safe_cell
    return [
        cell(order.reference),
        cell(status),
        cell(danish_time(order.created_at)),
        cell(order.organisation),
        cell(order.attention),
        cell(order.street),
        cell(order.postcode),
        cell(order.city),
        cell(order.municipality_name),
        cell(order.full_name),
        cell(order.email),
        cell(order.phone),
        cell(lines),
        total_quantity(order),
        cell(order.note),
    ]


def orders_csv(orders: Iterable[Submission]) -> bytes:
    """UTF-8 with a byte order mark and `;` between cells: what Danish Excel opens as is."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(CSV_HEADER)
    writer.writerows(csv_row(order) for order in orders)
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def csv_filename(now: datetime) -> str:
    return f"pjecebestillinger-{now.strftime('%Y-%m-%d')}.csv"


def total_quantity(order: Submission) -> int:
    return sum(line.quantity for line in order.lines)
