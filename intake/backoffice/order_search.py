"""Finding pamphlet orders for the back office: the list's filters, search and pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from sqlalchemy import ColumnElement, ColumnExpressionArgument, Select, case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from intake.models import WAITING_ORDER, OrderStatus, Submission, SubmissionKind
from intake.timefmt import DANISH_TIME

WAITING = "waiting"
EVERY = "all"
DEFAULT_STATUS = WAITING  # the list opens on what is waiting to be packed and shipped

# The status filter's choices: (value in ?status=, label), in the order the list shows them.
STATUS_FILTERS: list[tuple[str, str]] = [
    (WAITING, "Venter (nye og pakkede)"),
    (OrderStatus.NEW.value, "Nye"),
    (OrderStatus.PACKED.value, "Pakkede"),
    (OrderStatus.SHIPPED.value, "Afsendte"),
    (OrderStatus.CANCELLED.value, "Annullerede"),
    (EVERY, "Alle"),
]
KNOWN_STATUSES = frozenset(value for value, _ in STATUS_FILTERS)

TODAY = "today"  # ?received=today: orders received since midnight, Danish time


def status_asked_for(value: str | None) -> str:
    """?status= as the list uses it: a known filter, else what waits."""
    value = (value or "").strip()
    return value if value in KNOWN_STATUSES else DEFAULT_STATUS


def start_of_today(now: datetime) -> datetime:
    """Midnight at the start of `now`'s day in Denmark, as a UTC instant."""
    day = now.astimezone(DANISH_TIME).date()
    return datetime.combine(day, time(0), tzinfo=DANISH_TIME).astimezone(UTC)


@dataclass(frozen=True)
class Filters:
    """What the list shows: a status filter, only today's, and the search words."""

    status: str = DEFAULT_STATUS
    today: bool = False
    q: str = ""
    now: datetime | None = None  # "today" is the day of this instant (default: now)

    def received_since(self) -> datetime | None:
        if not self.today:
            return None
        return start_of_today(self.now or datetime.now(UTC))


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


# What a search word is looked for in: reference, organisation, the person, the e-mail
# address, the town and the municipality (each folded to lower case); the postcode from its start.
def _searched(word: str) -> ColumnElement[bool]:
    needle = word.lower()  # Python's lower() folds Æ, Ø and Å itself
    folded = [
        _fold(column).contains(needle, autoescape=True)
        for column in (
            Submission.reference,
            Submission.organisation,
            Submission.first_name,
            Submission.last_name,
            Submission.attention,
            Submission.email,
            Submission.city,
            Submission.municipality_name,
        )
    ]
    return or_(*folded, Submission.postcode.startswith(word, autoescape=True))


def _matching(filters: Filters) -> Select[Submission]:
    query = select(Submission).where(Submission.kind == SubmissionKind.PAMPHLET_ORDER)
    status = filters.status
    if status == WAITING:
        query = query.where(Submission.order_status.in_(WAITING_ORDER))
    elif status in {s.value for s in OrderStatus}:
        query = query.where(Submission.order_status == OrderStatus(status))
    since = filters.received_since()
    if since is not None:
        query = query.where(Submission.created_at >= since)
    for word in filters.q.split():
        query = query.where(_searched(word))
    return query


def _newest_waiting_first(query: Select[Submission]) -> Select[Submission]:
    waiting_first = case((Submission.order_status.in_(WAITING_ORDER), 0), else_=1)
    return query.order_by(waiting_first, Submission.created_at.desc(), Submission.id.desc())


def search_orders(
    session: Session, filters: Filters, *, page: int = 1, page_size: int = 50
) -> OrderPage:
    """One page of the orders that match: waiting ones first, newest first within."""
    query = _matching(filters)
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


def all_matching(session: Session, filters: Filters) -> list[Submission]:
    """Every matching order, in the list's order (for the CSV)."""
    query = _newest_waiting_first(_matching(filters)).options(selectinload(Submission.lines))
    return list(session.scalars(query))


def waiting_orders(session: Session) -> list[Submission]:
    """The orders to pack, oldest first: the order they are packed in."""
    return list(
        session.scalars(
            _matching(Filters(status=WAITING))
            .order_by(Submission.created_at, Submission.id)
            .options(selectinload(Submission.lines))
        )
    )


def orders_by_reference(session: Session, references: list[str]) -> list[Submission]:
    """The pamphlet orders with these references (any letter case), oldest first; unknown
    references are left out."""
    wanted = {reference.strip().upper() for reference in references if reference.strip()}
    if not wanted:
        return []
    return list(
        session.scalars(
            select(Submission)
            .where(
                Submission.kind == SubmissionKind.PAMPHLET_ORDER,
                Submission.reference.in_(sorted(wanted)),
            )
            .order_by(Submission.created_at, Submission.id)
            .options(selectinload(Submission.lines))
        )
    )


def filter_counts(session: Session, filters: Filters) -> dict[str, int]:
    """How many orders each of STATUS_FILTERS shows (today's only, when the list is)."""
    query = (
        select(Submission.order_status, func.count())
        .where(Submission.kind == SubmissionKind.PAMPHLET_ORDER)
        .group_by(Submission.order_status)
    )
    since = filters.received_since()
    if since is not None:
        query = query.where(Submission.created_at >= since)
    by_status = {status.value: number for status, number in session.execute(query) if status}
    counts = {value: by_status.get(value, 0) for value, _ in STATUS_FILTERS}
    counts[WAITING] = sum(by_status.get(status.value, 0) for status in WAITING_ORDER)
    counts[EVERY] = sum(by_status.values())
    return counts
