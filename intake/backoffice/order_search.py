"""Finding pamphlet orders for the back office: the list's filters, search and pages."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, ColumnExpressionArgument, Select, case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from intake.models import WAITING_ORDER, OrderStatus, Submission, SubmissionKind

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


def _fold(column: ColumnExpressionArgument[str]) -> ColumnElement[str]:
    """Lower case in SQL on both databases (SQLite's lower() leaves Æ, Ø and Å alone)."""
    for upper, lower in _CAPITALS:
        column = func.replace(column, upper, lower)
    return func.lower(column)


def _matching(status: str, q: str) -> Select[Submission]:
    query = select(Submission).where(Submission.kind == SubmissionKind.PAMPHLET_ORDER)
    if status == "waiting":
        query = query.where(Submission.order_status.in_(WAITING_ORDER))
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


def _newest_waiting_first(query: Select[Submission]) -> Select[Submission]:
    waiting_first = case((Submission.order_status.in_(WAITING_ORDER), 0), else_=1)
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
    counts["waiting"] = sum(by_status.get(status.value, 0) for status in WAITING_ORDER)
    counts[""] = sum(by_status.values())
    return counts
