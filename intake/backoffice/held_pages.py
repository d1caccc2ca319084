"""The back office: posts held as likely spam (/admin/held/, office and admin).

A held post (intake.held) filled the form's hidden field: most likely a bot, but a password
manager does it too. Staff read it and either release it — it is then stored like any
submission, with a reference, its deliveries and the receipt e-mail — or delete it. Each is
in the audit log; what is left is deleted by `intake purge` after INTAKE_HELD_DAYS.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import delete
from werkzeug.wrappers import Response

from intake import audit, held
from intake.backoffice.access import requires
from intake.backoffice.blueprint import bp
from intake.db import get_session, rows_matched
from intake.formats import when_in_table
from intake.labels import EXISTING_COOPERATION, TOPICS
from intake.models import HeldPost, StaffRole, Submission, SubmissionKind
from intake.reference_data import municipalities
from intake.state import current_intake
from intake.submissions import store

KIND_NAMES = {
    SubmissionKind.PAMPHLET_ORDER: "pjecebestilling",
    SubmissionKind.STARTUP_HELP: "anmodning om opstartshjælp",
}
GONE = "Henvendelsen er allerede frigivet eller slettet (af en anden, eller i et andet vindue)."


@bp.get("/held/")
@requires(StaffRole.OFFICE)
def held_posts() -> str:
    return render_template(
        "intake/admin/held.html",
        posts=held.waiting(get_session()),
        municipalities=municipalities(),
        kinds=KIND_NAMES,
        topics=TOPICS,
        cooperation=EXISTING_COOPERATION,
        held_days=int(current_app.config["INTAKE_HELD_DAYS"]),
    )


@bp.post("/held/<public_id>/release")
@requires(StaffRole.OFFICE)
def held_release(public_id: str) -> Response:
    """Store the post as the submission it would have been, in one commit with its removal
    from the held posts and the audit event; the worker then delivers it as any other."""
    session = get_session()
    post = held.find(session, public_id)
    if post is None:
        return _back(GONE)
    try:
        submission = held.to_submission(post, current_intake().routing)
    except KeyError:
        return _back(
            f"Henvendelsen kan ikke frigives: kommune {post.form_data.get('municipality_code')} "
            "findes ikke længere i routingen."
        )
    detail = f"Tilbageholdt som mulig spam fra {when_in_table(post.received_at)}; frigivet."
    # The conditional DELETE decides between two staff members releasing it at once.
    if rows_matched(session, delete(HeldPost).where(HeldPost.id == post.id)) != 1:
        session.rollback()
        return _back(GONE)

    def record(stored: Submission) -> None:
        audit.record(session, current_user.email, "held_released", submission=stored, detail=detail)

    stored = store(session, submission, alongside=record)
    if stored is not submission:  # the same form was stored meanwhile: that one stands
        session.execute(delete(HeldPost).where(HeldPost.id == post.id))
        session.commit()
        return _back(f"Henvendelsen var allerede modtaget som {stored.reference}.")
    current_app.logger.info("Released %s from the held posts", stored.reference)
    return _back(
        f"Henvendelsen er frigivet som {stored.reference}. Den sendes videre, og afsenderen "
        "får en kvittering på e-mail."
    )


@bp.post("/held/<public_id>/delete")
@requires(StaffRole.OFFICE)
def held_delete(public_id: str) -> Response:
    session = get_session()
    post = held.find(session, public_id)
    if post is None:
        return _back(GONE)
    detail = (
        f"Tilbageholdt {KIND_NAMES[post.kind]} modtaget {when_in_table(post.received_at)} slettet."
    )
    if rows_matched(session, delete(HeldPost).where(HeldPost.id == post.id)) != 1:
        session.rollback()
        return _back(GONE)
    audit.record(session, current_user.email, "held_deleted", detail=detail)
    session.commit()
    return _back("Henvendelsen er slettet.")


def _back(message: str) -> Response:
    flash(message)
    return redirect(url_for(".held_posts"), code=303)
