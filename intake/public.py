"""The public pages: the two forms and the receipt (DESIGN.md, "Public pages")."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from forms.public import (
    EXISTING_COOPERATION,
    TOPICS,
    PamphletOrderForm,
    PublicForm,
    StartupHelpForm,
)
from intake import error_pages, request_log
from intake.db import get_session
from intake.extension import current_intake
from intake.models import Pamphlet, Submission
from intake.paths import STATIC_DIR, templates_dir
from intake.privacy import notice_context
from intake.submissions import (
    find_by_key,
    find_by_public_id,
    new_submission_key,
    pamphlet_order_from_form,
    startup_help_from_form,
    store,
)
from intake.tokens import form_token, public_id_from_receipt_token, read_form_token, receipt_token

bp = Blueprint(
    "intake_public",
    __name__,
    template_folder=str(templates_dir()),
    static_folder=str(STATIC_DIR),
    static_url_path="/intake-static",
)

CSRF_MESSAGE = (
    "Formularen kunne ikke sendes, fordi sikkerhedsnøglen manglede eller var udløbet. "
    "Tjek oplysningerne, og send formularen igen."
)
EXPIRED_MESSAGE = (
    "Siden har været åben så længe, at den er udløbet. Tjek oplysningerne, og send igen."
)

Build = Callable[[Any, Any, str], Submission]


@bp.route("/pjecer/", methods=["GET", "POST"])
def pamphlet_order() -> Response | str | tuple[str, int]:
    catalogue = (
        get_session()
        .scalars(
            select(Pamphlet)
            .where(Pamphlet.hidden.is_(False))
            .order_by(Pamphlet.position, Pamphlet.id)
        )
        .all()
    )
    form_class = PamphletOrderForm.for_catalogue(catalogue)
    return _form_page(form_class, "pjecer", "intake/pjecer.html", pamphlet_order_from_form)


@bp.route("/opstartshjaelp/", methods=["GET", "POST"])
def startup_help() -> Response | str | tuple[str, int]:
    return _form_page(
        StartupHelpForm, "opstartshjaelp", "intake/opstartshjaelp.html", startup_help_from_form
    )


@bp.get("/kvittering/<token>")
def receipt(token: str) -> str | tuple[str, int]:
    public_id = public_id_from_receipt_token(token)
    submission = find_by_public_id(get_session(), public_id) if public_id else None
    if submission is None:
        abort(404)
    request_log.tag_reference(submission.reference)
    if submission.anonymised_at is not None:  # its personal data is gone (intake.anonymise)
        return render_template("intake/slettet.html", submission=submission), 410
    routing = current_intake().routing
    consultant = routing.consultants.get(submission.consultant_key)
    return render_template(
        "intake/kvittering.html",
        submission=submission,
        consultant=consultant,
        topics=dict(TOPICS),
        cooperation=dict(EXISTING_COOPERATION),
    )


@bp.get("/privatliv/")
def privacy() -> str:
    """The privacy notice the forms' consent refers to (linked from the consent and the footer)."""
    return render_template("intake/privatliv.html", **notice_context(current_app.config))


error_pages.register(bp, rate_limited=True)


@bp.errorhandler(404)
def not_found(error: Exception) -> tuple[str, int]:
    return render_template("intake/404.html"), 404


def _form_page(
    form_class: type[PublicForm], form_name: str, template: str, build: Build
) -> Response | str | tuple[str, int]:
    """GET shows the form; POST checks, in this order: the posts from this address (429),
    CSRF (400), spam (neutral answer), a repeated post of the same form (its first receipt),
    the fields (the form again), and then stores the submission and answers 303 to its
    receipt."""
    form = form_class(municipalities=current_intake().routing.choices())

    def page(status: int = 200, notice: str | None = None) -> tuple[str, int]:
        return render_template(template, form=form, notice=notice), status

    if request.method == "GET":
        form.form_token.data = form_token(new_submission_key(), form_name, time.time())
        return page()

    # Posts per address, both forms in one budget (a bot cannot double it by taking turns);
    # over the limit: 429 (intake.error_pages). Checked before anything else is done.
    with current_intake().limiter.shared_limit(_form_rate_limit, scope="intake_public_forms"):
        return _answer_post(form, form_name, page, build)


def _form_rate_limit() -> str:
    return current_app.config["INTAKE_FORM_RATE_LIMIT"]


def _answer_post(
    form: PublicForm,
    form_name: str,
    page: Callable[..., tuple[str, int]],
    build: Build,
) -> Response | str | tuple[str, int]:
    """The POST half of `_form_page`, in the order its docstring gives."""
    valid = form.validate()
    csrf = getattr(form, "csrf_token", None)  # absent when a host app turns CSRF off
    if csrf is not None and csrf.errors:
        csrf.errors = []
        return page(400, CSRF_MESSAGE)

    stamp = read_form_token(form.form_token.data or "", form_name, time.time())
    min_fill = float(current_app.config["INTAKE_MIN_FILL_SECONDS"])
    if form.website.data or stamp is None or stamp.age_seconds < min_fill:
        current_app.logger.info(
            "Refused a likely automated post to %s (honeypot=%s, stamp=%s)",
            form_name,
            bool(form.website.data),
            "missing" if stamp is None else "too fast",
        )
        return render_template("intake/tak.html"), 200

    if stamp.age_seconds > current_app.config["INTAKE_FORM_MAX_AGE_SECONDS"]:
        form.form_token.data = form_token(new_submission_key(), form_name, time.time())
        return page(200, EXPIRED_MESSAGE)

    session = get_session()
    earlier = find_by_key(session, stamp.submission_key)
    if earlier is not None:
        request_log.tag_reference(earlier.reference)
        return _to_receipt(earlier)
    if not valid:
        return page()

    route = current_intake().routing.route(form.municipality.data)
    submission = store(session, build(form, route, stamp.submission_key))
    request_log.tag_reference(submission.reference)
    current_app.logger.info("Stored %s (%s)", submission.reference, submission.kind.value)
    return _to_receipt(submission)


def _to_receipt(submission: Submission) -> Response:
    return redirect(url_for(".receipt", token=receipt_token(submission.public_id)), code=303)
