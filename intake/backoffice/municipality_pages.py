"""The back office: one municipality's requests, where the overview's map and table link to.

What the director sees behind a coloured shape: its stage and why, its kreds and consultant,
its requests (pamphlet orders and start-up requests) newest first with their follow-up in
Salesforce; and where staff record a municipal cooperation by hand (date and note), or take
it back, each audit-logged (intake.cooperations).
"""

from __future__ import annotations

from datetime import datetime

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from forms.cooperation import CooperationForm
from intake import cooperations
from intake.backoffice.access import requires
from intake.backoffice.blueprint import bp, error_page
from intake.backoffice.coverage import Coverage, Signals, signals_by_municipality
from intake.backoffice.coverage_map import STAGE_COLOURS
from intake.backoffice.follow_up_view import follow_up_for
from intake.backoffice.overview_page import consultant_of
from intake.db import get_session
from intake.labels import AUDIT_ACTIONS, EXISTING_COOPERATION, ORDER_STATUSES
from intake.models import StaffRole, Submission, SubmissionKind
from intake.routing.model import Municipality
from intake.state import current_intake
from intake.timefmt import DANISH_TIME

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


def _municipality_or_404(code: str) -> Municipality | None:
    return current_intake().routing.municipalities.get(code)


def _not_found(code: str) -> tuple[str, int]:
    return error_page(
        "Kommunen findes ikke",
        f"Der er ingen kommune med kommunekoden „{code}“.",
        404,
    )


@bp.get("/municipalities/<code>")
@requires(StaffRole.OFFICE)
def municipality(code: str) -> str | tuple[str, int]:
    found = _municipality_or_404(code)
    if found is None:
        return _not_found(code)
    return _page(found, CooperationForm(formdata=None))


def _page(found: Municipality, form: CooperationForm, status: int = 200) -> tuple[str, int]:
    routing = current_intake().routing
    session = get_session()
    code = found.code
    row = Coverage(found, signals_by_municipality(session, code).get(code, Signals()))
    shown, total = requests_from(session, code)
    record = cooperations.recorded(session, code)
    if record is not None and not form.is_submitted():
        form.established_on.data = record.established_on.isoformat()
        form.note.data = record.note
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
        follow_ups={item.id: follow_up_for(item) for item in shown},
        record=record,
        form=form,
        history=cooperations.history(session, found),
        action_labels=AUDIT_ACTIONS,
        today=datetime.now(DANISH_TIME).date(),
    ), status


@bp.post("/municipalities/<code>/cooperation")
@requires(StaffRole.OFFICE)
def municipality_cooperation(code: str) -> Response | tuple[str, int]:
    found = _municipality_or_404(code)
    if found is None:
        return _not_found(code)
    form = CooperationForm()
    if not form.validate_for(datetime.now(DANISH_TIME).date()):
        return _page(found, form, 400)
    session = get_session()
    cooperations.record(session, found, form.day, form.note.data or "", current_user.email)
    session.commit()
    flash(f"Kommunesamarbejdet i {found.name} er registreret.")
    return redirect(url_for("intake_admin.municipality", code=code), code=303)


@bp.post("/municipalities/<code>/cooperation/remove")
@requires(StaffRole.OFFICE)
def municipality_cooperation_remove(code: str) -> Response | tuple[str, int]:
    found = _municipality_or_404(code)
    if found is None:
        return _not_found(code)
    session = get_session()
    if cooperations.remove(session, found, current_user.email):
        session.commit()
        flash(f"Det registrerede kommunesamarbejde i {found.name} er fjernet.")
    else:
        flash(f"Der var ikke registreret et kommunesamarbejde i {found.name}.")
    return redirect(url_for("intake_admin.municipality", code=code), code=303)
