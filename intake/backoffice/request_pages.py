"""The back office: one request, a pamphlet order or a start-up request (/admin/requests/<ref>),
with its consultant, and sending it on to another consultant (intake.forwarding).

Staff send a request on when it reached the wrong consultant (a kreds the routing had wrong):
the new consultant gets its e-mail, saying it was sent on and by whom; its Salesforce lead gets
the new owner; the first consultant is told. Each is a delivery job, and the whole is in the
audit log.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from forms.forward import ForwardForm
from intake.backoffice.access import requires
from intake.backoffice.blueprint import bp, error_page
from intake.backoffice.follow_up_view import follow_up_for
from intake.db import get_session
from intake.forwarding import ForwardedMeanwhile, forward
from intake.labels import (
    AUDIT_ACTIONS,
    EXISTING_COOPERATION,
    JOB_STATUSES,
    JOB_TARGETS,
    ORDER_STATUSES,
    ROUTING_STATUSES,
    TOPICS,
)
from intake.models import AuditEvent, JobKind, StaffRole, Submission, SubmissionKind
from intake.reference_data import official_municipality_name
from intake.routing.model import Consultant, NoConsultant, Routing
from intake.state import current_intake
from intake.web.csrf import shows_form_again

KIND_NAMES = {
    SubmissionKind.PAMPHLET_ORDER: "Pjecebestilling",
    SubmissionKind.STARTUP_HELP: "Ønske om opstartshjælp",
}


def _find(reference: str) -> Submission | None:
    return get_session().scalar(select(Submission).where(Submission.reference == reference))


def _form(submission: Submission, routing: Routing) -> ForwardForm:
    names = {key: c.name for key, c in routing.consultants.items()}
    return ForwardForm(consultants=names, current=submission.consultant_key)


def _page(
    submission: Submission, form: ForwardForm, status: int = 200, notice: str | None = None
) -> tuple[str, int]:
    routing = current_intake().routing
    routed = routing.municipalities.get(submission.municipality_code)
    try:
        consultant = routing.consultant_of(submission.consultant_key, submission.municipality_code)
    except NoConsultant:
        consultant = None
    history = get_session().scalars(
        select(AuditEvent)
        .where(AuditEvent.submission_id == submission.id)
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    html = render_template(
        "intake/admin/request.html",
        submission=submission,
        kind_name=KIND_NAMES[submission.kind],
        is_order=submission.kind is SubmissionKind.PAMPHLET_ORDER,
        municipality=official_municipality_name(
            submission.municipality_code, submission.municipality_name
        ),
        routing_status=routed.status if routed is not None else "",
        routing_statuses=ROUTING_STATUSES,
        consultant=consultant,
        consultants=routing.consultants,
        form=form,
        notice=notice,
        follow_up=follow_up_for(submission),
        history=list(history),
        action_labels=AUDIT_ACTIONS,
        forward_jobs=[job for job in submission.jobs if job.forward_number],
        job_targets=JOB_TARGETS,
        job_statuses=JOB_STATUSES,
        owner_kind=JobKind.SALESFORCE_OWNER,
        admin_role=StaffRole.ADMIN,
        order_statuses=ORDER_STATUSES,
        topics=TOPICS,
        cooperation=EXISTING_COOPERATION,
    )
    return html, status


def _not_found(reference: str) -> tuple[str, int]:
    return error_page(
        "Henvendelsen findes ikke",
        f"Der er ingen henvendelse med referencen „{reference}“.",
        404,
    )


@bp.get("/requests/<reference>")
@requires(StaffRole.OFFICE)
def request_page(reference: str) -> str | tuple[str, int]:
    submission = _find(reference)
    if submission is None:
        return _not_found(reference)
    return _page(submission, _form(submission, current_intake().routing))


def _forward_again(notice: str) -> str:
    """The request's page with its form as posted, after a refused CSRF token."""
    submission = _find(str((request.view_args or {}).get("reference", "")))
    if submission is None:
        return _not_found("")[0]
    return _page(submission, _form(submission, current_intake().routing), 400, notice)[0]


@bp.post("/requests/<reference>/forward")
@requires(StaffRole.OFFICE)
@shows_form_again(_forward_again)
def request_forward(reference: str) -> Response | str | tuple[str, int]:
    submission = _find(reference)
    if submission is None:
        return _not_found(reference)
    if submission.anonymised_at is not None:
        flash("Henvendelsens personoplysninger er slettet, så den kan ikke sendes videre.")
        return redirect(url_for(".request_page", reference=reference))
    routing = current_intake().routing
    form = _form(submission, routing)
    if not form.validate():
        return _page(submission, form)
    try:
        previous = routing.consultant_of(submission.consultant_key, submission.municipality_code)
    except NoConsultant:  # no longer in the routing: named by its key
        key = submission.consultant_key
        previous = Consultant(
            key=key, name=key, email="", phone="", kredse=(), salesforce_user_id=None
        )
    to = routing.consultants[str(form.consultant.data)]
    try:
        forward(get_session(), submission, previous, to, current_user.email, form.note.data or "")
    except ForwardedMeanwhile:
        return _page(
            _find(reference) or submission,
            form,
            notice="En anden sendte henvendelsen videre samtidig. Tjek, hvem den er hos nu.",
        )
    current_app.logger.info("Sent %s on to another consultant", submission.reference)
    owner = (
        "leadet i Salesforce får ny ejer."
        if to.salesforce_user_id
        else f"leadet i Salesforce skifter ikke ejer: {to.name} har intet Salesforce-bruger-id."
    )
    flash(
        f"{submission.reference} er sendt videre til {to.name}. {to.name.split()[0]} får "
        f"henvendelsen på e-mail, {previous.name.split()[0]} får besked, og {owner}"
    )
    return redirect(url_for(".request_page", reference=reference))
