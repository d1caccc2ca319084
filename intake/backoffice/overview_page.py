"""The back office: the overview page. First what BL's director asks — how near is a
municipal cooperation in every municipality: the headline in numbers and percentages and the
map —, then requests per week and per kreds, and the 98-row tables folded away.

The numbers come from coverage.py, the charts from charts.py, the map from coverage_map.py;
this module only reads the query, puts the pieces together in Danish and renders the page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.backoffice.access import requires
from intake.backoffice.blueprint import bp
from intake.backoffice.charts import Series, bar_chart_svg
from intake.backoffice.coverage import (
    Counts,
    Stage,
    Week,
    coverage,
    coverage_per_kreds,
    last_weeks,
    requests_per_kreds,
    requests_per_week,
    signals_by_municipality,
    stage_counts,
)
from intake.backoffice.coverage_map import CREDIT, STAGE_COLOURS, coverage_map_svg
from intake.db import get_session
from intake.delivery.follow_up import NAME as FOLLOW_UP_ROW
from intake.formats import when
from intake.labels import ROUTING_STATUSES
from intake.models import SalesforceSync, StaffRole, utcnow
from intake.routing.model import Consultant, Routing
from intake.state import current_intake
from intake.timefmt import DANISH_TIME

DEFAULT_WEEKS = 12
MAX_WEEKS = 104

ORDERS = "Pjecebestillinger"
STARTUP = "Opstartshjælp"
ORDERS_COLOUR = "#1d70b8"
STARTUP_COLOUR = "#d4351c"


@dataclass(frozen=True)
class KredsRow:
    kreds: int
    consultant: Consultant | None
    counts: Counts


def weeks_asked_for() -> int:
    """`?weeks=`: a whole number of weeks, kept within 1..MAX_WEEKS; anything else: the default."""
    weeks = request.args.get("weeks", DEFAULT_WEEKS, type=int)
    return min(max(weeks, 1), MAX_WEEKS)


def danish_date(moment: datetime) -> str:
    return moment.astimezone(DANISH_TIME).strftime("%d.%m.%Y")


def period(weeks: list[Week]) -> str:
    first, last = weeks[0], weeks[-1]
    return f"{first.label} {first.year} – {last.label} {last.year}"


def summed(counts: Iterable[Counts]) -> Counts:
    total = Counts()
    for one in counts:
        total = Counts(total.orders + one.orders, total.startup + one.startup)
    return total


def consultant_of(routing: Routing, kreds: int) -> Consultant | None:
    try:
        return routing.consultant_for_kreds(kreds)
    except KeyError:  # a kreds that old requests were sent to, no longer in the routing
        return None


def kreds_rows(routing: Routing, counts: dict[int, Counts]) -> list[KredsRow]:
    """Every kreds of the routing (with no requests too), and any other kreds requests name."""
    kredse = {m.kreds for m in routing.municipalities.values()} | set(counts)
    return [
        KredsRow(kreds, consultant_of(routing, kreds), counts.get(kreds, Counts()))
        for kreds in sorted(kredse)
    ]


def requests_chart(ident: str, title: str, where: str, groups: list[tuple[str, Counts]]) -> Markup:
    """Orders and start-up requests side by side, one group of two bars per (label, counts)."""
    return bar_chart_svg(
        ident=ident,
        title=title,
        description=(
            f"Søjlediagram: pjecebestillinger og anmodninger om opstartshjælp {where}."
            " Tallene står også i tabellen under diagrammet."
        ),
        labels=[label for label, _ in groups],
        series=[
            Series(ORDERS, [counts.orders for _, counts in groups], ORDERS_COLOUR),
            Series(STARTUP, [counts.startup for _, counts in groups], STARTUP_COLOUR),
        ],
    )


def pull_note(session: Session) -> str:
    """When Salesforce's follow-up was last read, and how often it is (Danish)."""
    if current_intake().salesforce is None:
        return "Salesforce er ikke sat op, så opfølgningen læses ikke."
    last = session.scalar(
        select(SalesforceSync.refreshed_at).where(SalesforceSync.name == FOLLOW_UP_ROW)
    )
    minutes = float(current_app.config["INTAKE_CRM_PULL_MINUTES"])
    how_often = (
        f"Opfølgningen læses fra Salesforce hvert {minutes:g}. minut"
        if minutes > 0
        else "Opfølgningen læses fra Salesforce, når BL's IT beder om det"
    )
    return f"{how_often}; senest {when(last)}." if last else f"{how_often}; den er ikke læst endnu."


@bp.get("/overview")
@requires(StaffRole.OFFICE)
def overview() -> str:
    session = get_session()
    routing = current_intake().routing
    weeks = last_weeks(weeks_asked_for(), utcnow())
    per_week = requests_per_week(session, weeks)
    per_kreds = kreds_rows(routing, requests_per_kreds(session, weeks[0].starts, weeks[-1].ends))
    shown = period(weeks)

    week_chart = requests_chart(
        "uger",
        f"Henvendelser pr. uge, {shown}",
        f"i hver af de {len(weeks)} uger",
        [(week.label, counts) for week, counts in zip(weeks, per_week, strict=True)],
    )
    kreds_chart = requests_chart(
        "kredse",
        f"Henvendelser pr. kreds, {shown}",
        "i hver kreds",
        [(f"{row.kreds}. kreds", row.counts) for row in per_kreds],
    )

    municipalities = coverage(routing.municipalities.values(), signals_by_municipality(session))
    stages = stage_counts(municipalities)
    coverage_map = coverage_map_svg(
        municipalities,
        link=lambda code: url_for("intake_admin.municipality", code=code),
        title="Danmarks 98 kommuner efter, hvor langt de er med et kommunesamarbejde",
        description=(
            "Kort over kommunerne, hver farvet efter sit stadie; Bornholm er vist i en boks "
            "øverst til højre. Hver kommune er et link til dens henvendelser. Tallene står i "
            "tabellen under kortet."
        ),
    )
    routes = [routing.route(code) for code in sorted(routing.municipalities)]
    return render_template(
        "intake/admin/overview.html",
        weeks_count=len(weeks),
        max_weeks=MAX_WEEKS,
        period=shown,
        per_week=list(zip(weeks, per_week, strict=True)),
        week_total=summed(per_week),
        week_chart=week_chart,
        per_kreds=per_kreds,
        kreds_total=summed(row.counts for row in per_kreds),
        kreds_chart=kreds_chart,
        stages=stages,
        all_stages=list(Stage),
        stage_colours=STAGE_COLOURS,
        coverage_map=coverage_map,
        map_credit=CREDIT,
        municipalities=municipalities,
        coverage_per_kreds=coverage_per_kreds(municipalities),
        routes=routes,
        unconfirmed=len(routing.unconfirmed()),
        status_labels=ROUTING_STATUSES,
        danish_date=danish_date,
        is_admin=current_user.has(StaffRole.ADMIN),
        pull_note=pull_note(session),
    )
