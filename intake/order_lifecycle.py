"""A pamphlet order's life after it arrives: new → packed → shipped, or cancelled.

The changes are plain functions on a session; each commits the status, its timestamp, the
stock, the orderer's e-mail job ("on their way", or "cancelled" with the reason) and the audit
event together, or nothing at all. The
status is changed with a conditional UPDATE, so two staff members clicking at once cannot
ship one order twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from intake import audit
from intake.db import rows_matched
from intake.labels import ORDER_STATUSES
from intake.models import (
    WAITING_ORDER,
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

# The statuses each change may start from.
ALLOWED_FROM: dict[OrderStatus, tuple[OrderStatus, ...]] = {
    OrderStatus.PACKED: (OrderStatus.NEW,),
    OrderStatus.SHIPPED: WAITING_ORDER,
    OrderStatus.CANCELLED: WAITING_ORDER,
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
    return ORDER_STATUSES[status].lower() if status is not None else "ukendt"


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
    matched = rows_matched(
        session,
        update(Submission)
        .where(Submission.id == order.id, Submission.order_status.in_(allowed))
        .values(order_status=to, **values),
    )
    if matched != 1:  # someone else got there first
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


def mark_shipped(
    session: Session, order: Submission, actor: str, note: str = "", parcel: str = ""
) -> Shipped:
    """Ship: subtract the stock, and tell the orderer by e-mail (through the outbox), with the
    parcel number linked to its tracking page when there is one."""
    note, parcel = note.strip(), parcel.strip()
    _move(
        session,
        order,
        OrderStatus.SHIPPED,
        shipped_at=utcnow(),
        status_note=note,
        parcel_number=parcel,
    )
    shipped, stock_detail = _take_stock(session, order)
    session.add(DeliveryJob(submission_id=order.id, kind=JobKind.EMAIL, target=JobTarget.SHIPPED))
    detail = [f"Pakkenummer: {parcel}"] if parcel else []
    detail += [f"Note: {note}"] if note else []
    audit.record(
        session, actor, "order_shipped", submission=order, detail="\n".join(detail + stock_detail)
    )
    session.commit()
    return shipped


def mark_cancelled(session: Session, order: Submission, actor: str, reason: str) -> None:
    """Cancel, and tell the orderer by e-mail why (through the outbox)."""
    reason = reason.strip()
    if not reason:
        raise OrderError("Skriv, hvorfor ordren annulleres.")
    _move(session, order, OrderStatus.CANCELLED, cancelled_at=utcnow(), status_note=reason)
    session.add(DeliveryJob(submission_id=order.id, kind=JobKind.EMAIL, target=JobTarget.CANCELLED))
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
    """The orderer's e-mail about the order's end: "on their way" once it is shipped, or
    "cancelled" once it is cancelled."""
    return session.scalar(
        select(DeliveryJob).where(
            DeliveryJob.submission_id == order.id,
            DeliveryJob.kind == JobKind.EMAIL,
            DeliveryJob.target.in_((JobTarget.SHIPPED, JobTarget.CANCELLED)),
        )
    )


def total_quantity(order: Submission) -> int:
    return sum(line.quantity for line in order.lines)
