"""The overview's numbers: requests per week and per kreds, and how near BL is to its aim of a
municipal cooperation in every municipality.

The database counts (GROUP BY), so the page stays quick however many submissions there are;
only one row per week, kreds or municipality comes back. Weeks are ISO weeks in Danish local
time; their edges are worked out here with zoneinfo (so daylight saving is right on SQLite
too) and handed to the database as plain UTC instants.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from crm_sync.follow_up import CONTACT_TASK_STATUSES, NOT_CONTACTED_LEAD_STATUSES
from intake.labels import COVERAGE_STAGES
from intake.models import MunicipalCooperation, OrderStatus, Submission, SubmissionKind
from intake.routing.model import Municipality
from intake.timefmt import DANISH_TIME


@dataclass(frozen=True)
class Week:
    """An ISO week, Monday to Sunday in Danish local time."""

    monday: date

    @property
    def number(self) -> int:
        return self.monday.isocalendar().week

    @property
    def year(self) -> int:
        return self.monday.isocalendar().year

    @property
    def label(self) -> str:
        return f"uge {self.number}"

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def starts(self) -> datetime:
        return _danish_midnight(self.monday)

    @property
    def ends(self) -> datetime:
        return _danish_midnight(self.monday + timedelta(days=7))


def _danish_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=DANISH_TIME).astimezone(UTC)


def last_weeks(count: int, now: datetime) -> list[Week]:
    """The `count` weeks up to and including the one `now` falls in, oldest first."""
    today = now.astimezone(DANISH_TIME).date()
    monday = today - timedelta(days=today.weekday())
    return [Week(monday - timedelta(weeks=back)) for back in range(count - 1, -1, -1)]


@dataclass(frozen=True)
class Counts:
    """Requests of each kind."""

    orders: int = 0
    startup: int = 0

    @property
    def total(self) -> int:
        return self.orders + self.startup

    def add(self, kind: SubmissionKind, number: int) -> Counts:
        if kind is SubmissionKind.PAMPHLET_ORDER:
            return Counts(self.orders + number, self.startup)
        return Counts(self.orders, self.startup + number)


def requests_per_week(session: Session, weeks: Sequence[Week]) -> list[Counts]:
    """Orders and start-up requests received in each week (cancelled orders too: they came in)."""
    if not weeks:
        return []
    submitted = Submission.created_at
    bucket = case(
        *[
            (and_(submitted >= week.starts, submitted < week.ends), index)
            for index, week in enumerate(weeks)
        ],
        else_=None,
    )
    # Grouping on a column of a subquery, not on the CASE itself: PostgreSQL cannot tell that
    # two copies of a CASE with bound parameters are the same expression.
    inner = (
        select(bucket.label("week"), Submission.kind.label("kind"))
        .where(submitted >= weeks[0].starts, submitted < weeks[-1].ends)
        .subquery()
    )
    rows = session.execute(
        select(inner.c.week, inner.c.kind, func.count()).group_by(inner.c.week, inner.c.kind)
    )
    counts = [Counts() for _ in weeks]
    for index, kind, number in rows:
        counts[index] = counts[index].add(kind, number)
    return counts


def requests_per_kreds(session: Session, starts: datetime, ends: datetime) -> dict[int, Counts]:
    """Requests per kreds between two instants, by the kreds each was routed to when it came in."""
    rows = session.execute(
        select(Submission.kreds, Submission.kind, func.count())
        .where(Submission.created_at >= starts, Submission.created_at < ends)
        .group_by(Submission.kreds, Submission.kind)
    )
    result: dict[int, Counts] = {}
    for kreds, kind, number in rows:
        result[kreds] = result.get(kreds, Counts()).add(kind, number)
    return result


class Stage(enum.Enum):
    """How far a municipality has come towards BL's aim, a municipal cooperation: the stages,
    strongest first. `Signals.stage` is the one place that decides a municipality's stage;
    a new stage is a member here, a rule there, a label in intake.labels.COVERAGE_STAGES and a
    colour in coverage_map.STAGE_COLOURS."""

    # Established: a start-up request said one exists, a consultant converted a lead of the
    # municipality's in Salesforce, or staff recorded it by hand.
    COOPERATION = "cooperation"
    CONTACT = "contact"  # a consultant is in contact (a lead's or a task's Status says so)
    STARTUP = "startup"  # asked for start-up help
    ORDERED = "ordered"  # ordered pamphlets (an order not cancelled)
    NOTHING = "nothing"

    @property
    def label(self) -> str:
        """What the stage means, in Danish, to follow "N kommuner …"."""
        return COVERAGE_STAGES[self.value]


@dataclass(frozen=True)
class Signals:
    """What the requests from one municipality say, summed up by the database."""

    cooperation: bool = False  # a start-up request said a cooperation exists already
    startup_requests: int = 0
    latest_startup: datetime | None = None
    orders: int = 0  # pamphlet orders that were not cancelled
    converted: bool = False  # a lead of the municipality's was converted in Salesforce
    contacted: bool = False  # a consultant is in contact (crm_sync.follow_up's rule)
    recorded: bool = False  # staff recorded a cooperation by hand (MunicipalCooperation)

    @property
    def established(self) -> bool:
        return self.cooperation or self.converted or self.recorded

    @property
    def stage(self) -> Stage:
        if self.established:
            return Stage.COOPERATION
        if self.contacted:
            return Stage.CONTACT
        if self.startup_requests:
            return Stage.STARTUP
        if self.orders:
            return Stage.ORDERED
        return Stage.NOTHING


def signals_by_municipality(session: Session, code: str | None = None) -> dict[str, Signals]:
    """One GROUP BY over all submissions (or one municipality's), and the cooperations staff
    recorded: the signals of every municipality with either."""
    startup = Submission.kind == SubmissionKind.STARTUP_HELP
    live_order = and_(
        Submission.kind == SubmissionKind.PAMPHLET_ORDER,
        or_(Submission.order_status.is_(None), Submission.order_status != OrderStatus.CANCELLED),
    )
    said_yes = and_(startup, Submission.existing_cooperation == "yes")
    contacted = or_(
        and_(
            Submission.crm_lead_status.is_not(None),
            Submission.crm_lead_status.not_in(NOT_CONTACTED_LEAD_STATUSES),
        ),
        Submission.crm_task_status.in_(CONTACT_TASK_STATUSES),
    )
    query = select(
        Submission.municipality_code,
        func.count(case((said_yes, 1))),
        func.count(case((startup, 1))),
        func.max(case((startup, Submission.created_at))),
        func.count(case((live_order, 1))),
        func.count(case((Submission.crm_converted.is_(True), 1))),
        func.count(case((contacted, 1))),
    ).group_by(Submission.municipality_code)
    recorded = select(MunicipalCooperation.municipality_code)
    if code is not None:
        query = query.where(Submission.municipality_code == code)
        recorded = recorded.where(MunicipalCooperation.municipality_code == code)
    signals = {
        code: Signals(
            cooperation=yes > 0,
            startup_requests=asked,
            latest_startup=latest,
            orders=orders,
            converted=converted > 0,
            contacted=in_contact > 0,
        )
        for code, yes, asked, latest, orders, converted, in_contact in session.execute(query)
    }
    for found in session.scalars(recorded):
        signals[found] = replace(signals.get(found, Signals()), recorded=True)
    return signals


@dataclass(frozen=True)
class Coverage:
    municipality: Municipality
    signals: Signals

    @property
    def stage(self) -> Stage:
        return self.signals.stage


def coverage(municipalities: Iterable[Municipality], signals: dict[str, Signals]) -> list[Coverage]:
    """Every municipality of the routing with its signals, by kommunekode."""
    return [
        Coverage(m, signals.get(m.code, Signals()))
        for m in sorted(municipalities, key=lambda m: m.code)
    ]


@dataclass(frozen=True)
class StageCount:
    """How many municipalities are at one stage, and their share of all, in whole percent."""

    stage: Stage
    municipalities: int
    of: int

    @property
    def percent(self) -> int:
        return round(100 * self.municipalities / self.of) if self.of else 0


def stage_counts(rows: Sequence[Coverage]) -> list[StageCount]:
    """Every stage, strongest first, with its number of municipalities (the headline)."""
    return [
        StageCount(stage, sum(1 for row in rows if row.stage is stage), len(rows))
        for stage in Stage
    ]


@dataclass(frozen=True)
class KredsCoverage:
    kreds: int
    stages: dict[Stage, int]

    @property
    def municipalities(self) -> int:
        return sum(self.stages.values())


def coverage_per_kreds(rows: Iterable[Coverage]) -> list[KredsCoverage]:
    """How many municipalities of each kreds (as the routing has it now) are at each stage."""
    per_kreds: dict[int, dict[Stage, int]] = {}
    for row in rows:
        stages = per_kreds.setdefault(row.municipality.kreds, dict.fromkeys(Stage, 0))
        stages[row.stage] += 1
    return [KredsCoverage(kreds, per_kreds[kreds]) for kreds in sorted(per_kreds)]
