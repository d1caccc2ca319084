"""The back office: one municipality's requests, where the overview's map and table link to.

What the director sees behind a coloured shape: its stage, its kreds and consultant, and its
requests (pamphlet orders and start-up requests), newest first.
"""

from __future__ import annotations

from flask import render_template
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake.backoffice.access import requires
from intake.backoffice.blueprint import bp
from intake.backoffice.coverage import Coverage, Signals, signals_by_municipality
from intake.backoffice.coverage_map import STAGE_COLOURS
from intake.backoffice.overview_page import consultant_of
from intake.db import get_session
from intake.labels import EXISTING_COOPERATION, ORDER_STATUSES
from intake.models import StaffRole, Submission, SubmissionKind
from intake.state import current_intake

SHOWN = 100  # the newest requests shown; the count says how many there are in all


def requests_from(session: Session, code: str) -> tuple[list[Submission], int]:
    """The municipality's newest requests (at most SHOWN), and how many there are."""
    where = Submission.municipality_code == code
    total = session.scalar(select(func.count()).select_from(Submission).where(where)) or 0
    newest = session.scalars(
        select(Submission)
        .where(where)
        .order_by(Submission.created_at.desc(), Submission.id.desc())
        .limit(SHOWN)
    )
    return list(newest), total


@bp.get("/municipalities/<code>")
@requires(StaffRole.OFFICE)
def municipality(code: str) -> str | tuple[str, int]:
    routing = current_intake().routing
    found = routing.municipalities.get(code)
    if found is None:
        return render_template(
            "intake/admin/error.html",
            title="Kommunen findes ikke",
            message=f"Der er ingen kommune med kommunekoden „{code}“.",
        ), 404
    session = get_session()
    row = Coverage(found, signals_by_municipality(session, code).get(code, Signals()))
    shown, total = requests_from(session, code)
    return render_template(
        "intake/admin/municipality.html",
        row=row,
        consultant=consultant_of(routing, found.kreds),
        colour=STAGE_COLOURS[row.stage],
        requests=shown,
        total=total,
        order_kind=SubmissionKind.PAMPHLET_ORDER,
        order_statuses=ORDER_STATUSES,
        cooperation=EXISTING_COOPERATION,
    )
